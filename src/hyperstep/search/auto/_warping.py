"""Output warping: what the Gaussian process is fitted to instead of the raw objective.

Real objectives are rarely Gaussian. A validation loss spans decades, ``|m − t|`` has a kink at
its optimum, Rosenbrock-like valleys are smooth only on a log scale, and one diverged run can be
a thousand times worse than the others; fitted raw, such values squash every good point
together and the model cannot tell them apart. But no single transformation suits every
objective: a log scale that makes a loss landscape smooth makes a bounded one (Hartmann) spiky.

So the engine tries a few *monotone* transformations (monotone: the minimiser and the order of
the points are unchanged) and keeps the one under which the GP explains the data best: the
marginal likelihood of the *original* values, that is the GP evidence of the warped values plus
the log-Jacobian of the warp (the warped-GP model selection of Snelson et al. 2004, restricted
to a small fixed family so it is cheap and cannot overfit). The family:

* ``identity``: plain standardisation;
* ``power``: a Yeo-Johnson power transform (HEBO's choice, Cowen-Rivers et al. 2022) of the
  robustly standardised values, with an exponent ≤ 1 chosen for normality, so it can only
  compress the bad tail, never the good end;
* ``log-c``: ``log(y − min + c·(median − min))`` for a few ``c``: a log scale anchored just below
  the best value seen, which is what losses and ``|m − t|`` objectives usually need.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

#: Yeo-Johnson exponents: at most 1 (only compress the bad tail), not below -3 (noise).
_LAMBDA_BOUNDS = (-3.0, 1.0)
#: Offsets of the log warps, as fractions of (median − min).
_LOG_OFFSETS = (0.1, 1.0)


@dataclass(frozen=True)
class Warped:
    """Standardised warped values and ``Σ log |dz/dy|`` (to compare warps by likelihood)."""

    name: str
    values: FloatArray
    log_jacobian: float


def _standardised(name: str, w: FloatArray, log_dw: FloatArray) -> Warped:
    spread = float(w.std())
    if not spread > 0 or not np.all(np.isfinite(w)):
        spread = 1.0
    z = (w - float(w.mean())) / spread
    return Warped(name, z, float(log_dw.sum()) - len(w) * math.log(spread))


def identity(y: FloatArray) -> Warped:
    return _standardised("identity", y.astype(np.float64), np.zeros(len(y)))


def log_shift(y: FloatArray, offset: float) -> Warped:
    lo, med = float(y.min()), float(np.median(y))
    shifted = y - lo + offset * max(med - lo, float(np.ptp(y)) * 1e-3, 1e-300)
    return _standardised(f"log-{offset:g}", np.log(shifted), -np.log(shifted))


def power(y: FloatArray) -> Warped:
    q25, q50, q75 = np.percentile(y, [25, 50, 75])
    scale = float(q75 - q25) or float(np.ptp(y)) or 1.0
    u = (y - q50) / scale
    with warnings.catch_warnings():
        # A flat likelihood makes the optimiser warn; any exponent in bounds is acceptable.
        warnings.simplefilter("ignore")
        try:
            lam = float(stats.yeojohnson_normmax(u))
        except (ValueError, FloatingPointError, RuntimeError):
            lam = 1.0
    lam = float(np.clip(lam, *_LAMBDA_BOUNDS)) if math.isfinite(lam) else 1.0
    w = np.asarray(stats.yeojohnson(u, lmbda=lam), dtype=np.float64)
    # d/du of Yeo-Johnson: (u + 1)^(λ − 1) for u ≥ 0, (1 − u)^(1 − λ) below.
    log_dw = np.where(u >= 0, (lam - 1) * np.log1p(np.abs(u)), (1 - lam) * np.log1p(np.abs(u)))
    return _standardised("power", w, log_dw - math.log(scale))


def candidate_warps(y: FloatArray) -> list[Warped]:
    """The warps worth trying for ``y`` (only the identity when there is nothing to shape)."""
    if len(y) < 5 or float(np.ptp(y)) == 0.0:
        return [identity(y)]
    out = [identity(y), power(y)] + [log_shift(y, c) for c in _LOG_OFFSETS]
    return [w for w in out if np.all(np.isfinite(w.values))]
