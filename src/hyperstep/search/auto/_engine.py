"""``AutoEngine``: hyperstep's own Bayesian engine (``engine: auto``).

Why a Gaussian process and not another TPE: a Bayesian task is chosen when each execution is
expensive, so what matters is the best value after a few dozen executions, not the cost of a
suggestion. A GP with a well-regularised kernel extracts much more from 20-50 results than a
density-ratio model, provided it is made robust to what breaks vanilla GPs in practice:

* mixed spaces: integers, steps and categoricals are encoded (``_encoding``) and every candidate
  is snapped to the exact point that would be proposed before it is scored;
* badly scaled or heavy-tailed objectives: the model sees a warped objective (``_warping``);
* failures: a failed execution has no value, and hyperstep never invents one for the user; the
  *model* treats its point as no better than the worst success, which steers the search away
  from regions that crash without hiding them for good (the point is still de-duplicated);
* batches: all points of a batch are chosen before any result is known, so each chosen point,
  and every pending execution, is added to the model as a *kriging believer* fantasy (its
  predicted mean). That collapses the uncertainty around it, and the next point goes elsewhere.
  The last point of a batch is searched for only close to the best few results (a small trust
  region), so every batch also refines the best basin found so far: on rugged landscapes,
  where a global model is least trustworthy, that local step is what keeps the GP ahead of TPE;
* near-copies: in a space with integer, stepped or categorical parameters, the exploring
  points of a batch keep a minimum spacing from every known point (a real training job is
  flat at that scale; on a tabular benchmark a near-copy is the same execution again);
* large histories: above ``max_model_points`` results, the model keeps the best half and an
  even sample of the rest, so a batch stays well under a second with thousands of executions.

Deterministic: every random choice comes from a generator seeded with ``(seed, len(history),
len(pending))`` and every numeric routine is deterministic for its inputs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperstep.search.auto._acquisition import AcquisitionSearch
from hyperstep.search.auto._encoding import ContinuousDimension, SpaceEncoder
from hyperstep.search.auto._gp import (
    SHORT_START,
    GaussianProcess,
    Hyperparameters,
    fit_hyperparameters,
    param_sq_dists,
)
from hyperstep.search.auto._warping import candidate_warps
from hyperstep.space import Distribution, Space

FloatArray = NDArray[np.float64]

#: Enumerate a finite space to find an unseen point only when it is at most this big.
_ENUMERATION_LIMIT = 50_000
#: The last point of every batch of at least two is searched for only near the best few
#: results (a trust region): refines a good basin while the other points explore.
_TRUST_REGION_POINTS = 1
_TRUST_REGION_CENTRES = 3
#: In a space with integer, stepped or categorical parameters, an exploring point must differ
#: from every known point by at least this much (in the unit cube) on some parameter. Such
#: spaces are usually real training jobs, whose objective is flat at that scale (often a
#: table or a coarse grid behind continuous-looking ranges); near-copies of a known point
#: waste an execution (a fifth of the budget on FCNet without this rule). The trust-region
#: point is exempt: refining the best basin is its job. Pure continuous spaces are exempt.
_MIN_SPACING_MIXED = 0.15
_SPACING_BLOCK = 64


class AutoEngine:
    """Gaussian-process Bayesian optimisation with log-EI and kriging-believer batches.

    Args:
        max_model_points: most results the model is fitted on (the best half of them, plus an
            evenly spread sample of the rest); bounds the cost of a suggestion.
        n_incumbents: how many of the best results the acquisition search explores around.
    """

    name = "auto"

    def __init__(
        self,
        *,
        max_model_points: int = 128,
        n_incumbents: int = 5,
    ) -> None:
        self.max_model_points = max_model_points
        self.n_incumbents = n_incumbents

    def suggest(
        self,
        space: Space,
        history: Sequence[tuple[dict[str, Any], float | None]],
        n: int,
        pending: Sequence[dict[str, Any]],
        seed: int,
    ) -> list[dict[str, Any]]:
        """Up to ``n`` distinct points of ``space``, none already in ``history`` or ``pending``.

        ``history`` holds finished executions with their value (minimised; ``None`` = failed).
        Fewer than ``n`` points come back only when the space has fewer unseen points.
        """
        if n <= 0:
            return []
        encoder = SpaceEncoder(space)
        rng = np.random.default_rng([abs(int(seed)) % 2**63, len(history), len(pending)])
        known = [(p, v) for p, v in history if _in_space(space, p)]
        pending_points = [p for p in pending if _in_space(space, p)]
        if encoder.n_params == 0:  # a single point: propose it unless it has been run
            ran = bool(known or pending_points)
            return [] if ran else [encoder.decode(np.zeros(0))]

        x_known = encoder.encode([p for p, _ in known])
        x_pending = encoder.encode(pending_points)
        seen = {encoder.key(row) for row in itertools.chain(x_known, x_pending)}
        rows = self._model_rows(x_known, [_finite(v) for _, v in known], rng)
        if rows is None:
            chosen = _random_unseen(encoder, rng, n, seen)
        else:
            chosen = self._bayesian(encoder, rng, n, seen, x_pending, *rows)
        return [encoder.decode(row) for row in chosen]

    def _model_rows(
        self, x: FloatArray, values: Sequence[float | None], rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray] | None:
        """The rows the model is fitted on (successes first, then failures), and the values.

        Above ``max_model_points``, the model keeps the best successes, an even random sample
        of the other ones, and at most a quarter of failures. None when fewer than 2
        executions succeeded: there is nothing to model yet.
        """
        ok = [i for i, v in enumerate(values) if v is not None]
        failed = [i for i, v in enumerate(values) if v is None]
        if len(ok) < 2:
            return None
        limit = self.max_model_points
        failed = failed[: min(len(failed), max(limit // 4, limit - len(ok)))]
        ok.sort(key=lambda i: (values[i], i))
        room = limit - len(failed)
        if len(ok) > room:
            keep = room // 2
            picks = np.sort(rng.choice(len(ok) - keep, room - keep, replace=False))
            ok = ok[:keep] + [ok[keep + int(i)] for i in picks]
        y = np.array([values[i] for i in ok], dtype=np.float64)
        return x[ok + failed], y

    def _bayesian(
        self,
        encoder: SpaceEncoder,
        rng: np.random.Generator,
        n: int,
        seen: set[tuple[Any, ...]],
        x_pending: FloatArray,
        x: FloatArray,
        values: FloatArray,
    ) -> list[FloatArray]:
        y, hyper = _fit(encoder, x, values)
        model = GaussianProcess(x, y, hyper, encoder.column_param)
        if len(x_pending):
            model = model.condition(x_pending, model.predict(x_pending)[0])
        best = float(y.min())
        incumbents = x[np.argsort(y, kind="stable")[: self.n_incumbents]]
        search = AcquisitionSearch(encoder, rng)
        chosen: list[FloatArray] = []
        mixed = any(not isinstance(d, ContinuousDimension) for d in encoder.dimensions)
        spacing = _MIN_SPACING_MIXED if mixed else 0.0
        known_rows = [x, x_pending] if len(x_pending) else [x]
        for i in range(n):
            local = n - i <= _TRUST_REGION_POINTS < n
            centres = incumbents[:_TRUST_REGION_CENTRES] if local else incumbents
            candidates, _scores = search.ranked(model, best, centres, local=local)
            gap = 0.0 if local else spacing
            row = _first_unseen(encoder, candidates, seen, np.vstack(known_rows), gap)
            if row is None:
                fallback = _random_unseen(encoder, rng, 1, seen)
                if not fallback:
                    break  # a finite space used up: fewer points, never a repeat
                row = fallback[0]
            seen.add(encoder.key(row))
            chosen.append(row)
            known_rows.append(row[None, :])
            model = model.condition(row[None, :], model.predict(row[None, :])[0])
        return chosen


def _fit(
    encoder: SpaceEncoder, x: FloatArray, values: FloatArray
) -> tuple[FloatArray, Hyperparameters]:
    """The warp of ``values`` under which the GP explains the data best, and its fit.

    Rows of ``x`` past ``len(values)`` are failed executions: they get the worst warped value.
    """
    sq = param_sq_dists(x, encoder.column_param, encoder.n_params)
    n_failed = len(x) - len(values)
    best: tuple[float, float, FloatArray, Hyperparameters] | None = None
    for warped in candidate_warps(values):
        y = np.concatenate([warped.values, np.full(n_failed, float(warped.values.max()))])
        hyper, neg_log_post = fit_hyperparameters(sq, y)
        score = neg_log_post - warped.log_jacobian
        if best is None or score < best[0]:
            best = (score, warped.log_jacobian, y, hyper)
    assert best is not None
    # A second start for the chosen warp only: short lengthscales, in case of more structure.
    _score, log_jacobian, y, hyper = best
    other, neg_log_post = fit_hyperparameters(sq, y, start=SHORT_START)
    if neg_log_post - log_jacobian < best[0]:
        hyper = other
    return y, hyper


def _finite(value: Any) -> float | None:
    """The value as a finite float, or None for a failure (None, NaN, inf, not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _in_space(space: Mapping[str, Distribution], point: Mapping[str, Any]) -> bool:
    """True when ``point`` has a valid value for every parameter (old points may not)."""
    return all(name in point and dist.contains(point[name]) for name, dist in space.items())


def _first_unseen(
    encoder: SpaceEncoder,
    candidates: FloatArray,
    seen: set[tuple[Any, ...]],
    seen_rows: FloatArray | None = None,
    gap: float = 0.0,
) -> FloatArray | None:
    """The first candidate not already seen, preferring those ``gap`` away from ``seen_rows``.

    Spacing is measured per column (the largest coordinate difference), so a different choice
    of a categorical always counts as far. When no candidate is that far, the first unseen
    one is taken: the rule steers, it never makes the engine propose fewer points.
    """
    if gap > 0.0 and seen_rows is not None and len(seen_rows):
        # Candidates come best first and the first block nearly always holds a spaced one:
        # measuring block by block keeps this cheap.
        for start in range(0, len(candidates), _SPACING_BLOCK):
            block = candidates[start : start + _SPACING_BLOCK]
            cheb = np.abs(block[:, None, :] - seen_rows[None, :, :]).max(axis=2).min(axis=1)
            for far_index in np.flatnonzero(cheb >= gap).tolist():
                spaced: FloatArray = block[far_index]
                if encoder.key(spaced) not in seen:
                    return spaced
    for index in range(len(candidates)):
        row: FloatArray = candidates[index]
        if encoder.key(row) not in seen:
            return row
    return None


def _random_unseen(
    encoder: SpaceEncoder, rng: np.random.Generator, n: int, seen: set[tuple[Any, ...]]
) -> list[FloatArray]:
    """Up to ``n`` distinct unseen rows, drawn uniformly; enumerated when the space is small.

    Fewer than ``n`` only when the space has fewer unseen points (or is too large to
    enumerate and random draws keep hitting seen points).
    """
    taken = set(seen)
    out: list[FloatArray] = []
    for row in encoder.sample(rng, max(64, 8 * n)):
        key = encoder.key(row)
        if key not in taken:
            taken.add(key)
            out.append(row)
            if len(out) == n:
                return out
    size = encoder.size
    if size is not None and size <= _ENUMERATION_LIMIT:
        grid = encoder.grid()
        for index in rng.permutation(len(grid)):
            key = encoder.key(grid[index])
            if key not in taken:
                taken.add(key)
                out.append(grid[index])
                if len(out) == n:
                    return out
    return out
