"""The ``hyperopt`` engine: Hyperopt's TPE (``hyperopt.tpe.suggest``), Valohai's other engine.

Hyperopt has no ask-and-tell API, but its ``Trials`` object is a list of plain documents, so
each call rebuilds one from the history: a finished execution is a ``DONE`` document with
status ``ok`` and its loss, a failed one a ``DONE`` document with status ``fail`` and no loss
(Hyperopt's TPE then counts it among the bad results, never among the good), and a pending
point a ``RUNNING`` document without a loss. ``tpe.suggest`` proposes one point per call; each
proposal is added as running before the next call, which keeps a batch's points apart the way
Hyperopt's own asynchronous ``fmin`` does. Hyperopt's defaults are kept otherwise (its own
20-trial random warm-up included).

Parameters go through :mod:`hyperstep.search.dimensions`: ``hp.uniform``/``hp.loguniform``
for floats (``loguniform`` takes natural-log bounds), ``hp.loguniform`` rounded for a
log-scale integer, ``hp.quniform`` over the index for a lattice or an ordered choice, and
``hp.choice`` over the index for a categorical.
"""

from __future__ import annotations

import math
from typing import Any

from hyperstep.errors import EngineUnavailable
from hyperstep.search.dimensions import Dimension, decode_point, dimensions, encode_point
from hyperstep.search.engine_base import History, Pending, register_engine
from hyperstep.search.points import derived_seed
from hyperstep.space import Space

_INSTALL = "pip install 'hyperstep[hyperopt]'"


class HyperoptEngine:
    """Hyperopt's TPE over a ``Trials`` object rebuilt from the history."""

    name = "hyperopt"

    def __init__(self) -> None:
        try:
            import hyperopt  # noqa: F401
        except ImportError:
            raise EngineUnavailable(
                f"the 'hyperopt' engine needs Hyperopt, which is not installed: {_INSTALL}"
                " (the hyperstep[hyperopt] extra)"
            ) from None

    def suggest(
        self,
        space: Space,
        history: History,
        n: int,
        pending: Pending,
        seed: int,
    ) -> list[dict[str, Any]]:
        from hyperopt import base, tpe

        dims = dimensions(space)
        free = [dim for dim in dims if dim.kind != "fixed"]
        if not free:
            return [decode_point(dims, {})][:n]
        if not any(value is not None for _, value in history):
            # With no successful result, TPE's "good" group would be made of failures:
            # propose nothing and let the search fill the batch with random points.
            return []

        domain = base.Domain(_objective, {dim.name: _expression(dim) for dim in free})
        trials = base.Trials()
        docs: list[dict[str, Any]] = []
        for params, value in history:
            raw = encode_point(dims, params)
            if raw is not None:
                docs.append(_document(len(docs), domain, raw, value, running=False))
        for params in pending:
            raw = encode_point(dims, params)
            if raw is not None:
                docs.append(_document(len(docs), domain, raw, None, running=True))
        trials.insert_trial_docs(docs)
        trials.refresh()

        points: list[dict[str, Any]] = []
        for index in range(n):
            tid = len(docs)
            new = tpe.suggest([tid], domain, trials, derived_seed(seed, index), verbose=False)
            raw = {label: values[0] for label, values in new[0]["misc"]["vals"].items() if values}
            points.append(decode_point(dims, raw))
            doc = _document(tid, domain, _plain(raw), None, running=True)
            docs.append(doc)
            trials.insert_trial_docs([doc])
            trials.refresh()
        return points


def _objective(params: Any) -> float:
    """Never called: the domain only describes the space; executions are run by the engine."""
    raise RuntimeError("the hyperopt domain of a hyperstep search is never evaluated")


def _expression(dim: Dimension) -> Any:
    from hyperopt import hp

    if dim.kind == "float":
        if dim.log:
            return hp.loguniform(dim.name, math.log(dim.low), math.log(dim.high))
        return hp.uniform(dim.name, dim.low, dim.high)
    if dim.kind == "int_log":
        # Each integer owns [k - 0.5, k + 0.5) on the log scale, as in the space's sampling.
        return hp.loguniform(dim.name, math.log(dim.low - 0.5), math.log(dim.high + 0.5))
    if dim.kind == "lattice":
        # round(uniform(-0.5, size - 0.5)) gives every index the same weight.
        return hp.quniform(dim.name, -0.5, dim.size - 0.5, 1)
    return hp.choice(dim.name, list(range(dim.size)))


def _document(
    tid: int, domain: Any, raw: dict[str, Any], value: float | None, *, running: bool
) -> dict[str, Any]:
    """One Hyperopt trial document (the shape ``hyperopt.fmin.generate_trial`` builds)."""
    from hyperopt import base

    if running:
        state, result = base.JOB_STATE_RUNNING, {"status": base.STATUS_RUNNING}
    elif value is None:
        state, result = base.JOB_STATE_DONE, {"status": base.STATUS_FAIL}
    else:
        state, result = base.JOB_STATE_DONE, {"status": base.STATUS_OK, "loss": float(value)}
    return {
        "state": state,
        "tid": tid,
        "spec": None,
        "result": result,
        "misc": {
            "tid": tid,
            "cmd": domain.cmd,
            "workdir": None,
            "idxs": {label: [tid] for label in raw},
            "vals": {label: [number] for label, number in raw.items()},
        },
        "exp_key": None,
        "owner": None,
        "version": 0,
        "book_time": None,
        "refresh_time": None,
    }


def _plain(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        label: number.item() if hasattr(number, "item") else number for label, number in raw.items()
    }


register_engine(HyperoptEngine.name, HyperoptEngine)

__all__ = ["HyperoptEngine"]
