"""The protocol a Bayesian engine implements, and the registry that finds engines by name.

A Bayesian search (:class:`hyperstep.search.bayesian.BayesianSearch`) keeps the rules every
engine must obey (start-up points, bounds, Q.Step lattice, no repeated point, the batch size)
and asks an *engine* only for the model-based part: "given these results and these running
points, which ``n`` points next?". So an engine stays small and a new one cannot break the
contract the task relies on.

Engines are found by name (``engine: optuna`` in a blueprint). Built-in engines live in
modules that are imported only when first used, so ``import hyperstep.search`` never pays for
Optuna or Hyperopt, and a missing optional library is reported only when it is asked for.

A plug-in module named in :data:`ENGINE_MODULES` makes its engine known in one of two ways:

* it calls :func:`register_engine` at import time, or
* it defines a class with a class attribute ``name`` equal to the engine name and a
  ``suggest`` method; the registry instantiates it with no arguments.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast, runtime_checkable

from hyperstep.errors import EngineUnavailable, ValidationError
from hyperstep.space import Space

#: Finished executions, oldest first: ``(parameters, value)``. The value is minimised;
#: ``None`` means the execution failed (or never reported a usable metric).
History = Sequence[tuple[dict[str, Any], float | None]]

#: The points of an unfinished batch: proposed (and perhaps running) but without a result.
Pending = Sequence[dict[str, Any]]


@runtime_checkable
class BayesEngine(Protocol):
    """A model-based proposer of points.

    Contract (checked for every engine by ``tests/search/test_search_engine_contract.py``):

    * ``suggest`` is a pure function of its arguments: the same ``(space, history, n,
      pending, seed)`` gives the same points, and it touches no global random state;
    * ``history`` holds only points inside ``space`` (the search filters the rest) and values
      that are finite floats or ``None`` (failed, never to be treated as a good result);
    * ``pending`` points are running: the engine should keep the new points away from them
      and from each other (Optuna's constant liar, or better);
    * it returns at most ``n`` points, each a dict over ``space.names``. The search checks
      every point, so a point outside the space or a repeat is replaced by an unseen random
      point rather than run; returning fewer than ``n`` points is allowed too.
    """

    name: str

    def suggest(
        self,
        space: Space,
        history: History,
        n: int,
        pending: Pending,
        seed: int,
    ) -> list[dict[str, Any]]:
        """Propose up to ``n`` new points of ``space``."""
        ...


#: Engine name → module that provides it (imported on first use).
ENGINE_MODULES: dict[str, str] = {
    "optuna": "hyperstep.search.optuna_engine",
    "hyperopt": "hyperstep.search.hyperopt_engine",
    "auto": "hyperstep.search.auto",
}

#: The engine used when a task names none (Valohai's default).
DEFAULT_ENGINE = "optuna"

_FACTORIES: dict[str, Callable[[], BayesEngine]] = {}


def register_engine(name: str, factory: Callable[[], BayesEngine]) -> None:
    """Make ``factory()`` the engine called ``name`` (replacing an earlier registration)."""
    _FACTORIES[name.strip().lower()] = factory


def engine_names() -> list[str]:
    """Every engine name a task may use, registered or importable on demand."""
    return sorted(set(ENGINE_MODULES) | set(_FACTORIES))


def get_engine(name: str) -> BayesEngine:
    """A new instance of the engine called ``name`` (case-insensitive).

    Raises:
        ValidationError: no engine has that name (``field`` is ``engine``).
        EngineUnavailable: the engine needs a library that is not installed.
    """
    key = name.strip().lower() if isinstance(name, str) else ""
    if key not in _FACTORIES:
        module_name = ENGINE_MODULES.get(key)
        if module_name is None:
            known = ", ".join(engine_names())
            raise ValidationError(
                f"unknown engine {name!r} (expected one of: {known})", field="engine"
            )
        _load_plugin(key, module_name)
    return _FACTORIES[key]()


def _load_plugin(key: str, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "the plug-in itself is absent" is ours to report; a missing third-party
        # library inside it raises EngineUnavailable from the plug-in with the extra to install.
        if exc.name is not None and module_name.startswith(exc.name):
            raise EngineUnavailable(
                f"the {key!r} engine is not available in this installation ({module_name})"
            ) from None
        raise
    if key in _FACTORIES:
        return
    for value in vars(module).values():
        if (
            inspect.isclass(value)
            and value.__module__.startswith(module_name)
            and getattr(value, "name", None) == key
            and callable(getattr(value, "suggest", None))
        ):
            register_engine(key, cast("Callable[[], BayesEngine]", value))
            return
    raise EngineUnavailable(f"{module_name} does not provide an engine named {key!r}")


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINE_MODULES",
    "BayesEngine",
    "History",
    "Pending",
    "engine_names",
    "get_engine",
    "register_engine",
]
