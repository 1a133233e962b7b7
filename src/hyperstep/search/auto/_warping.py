"""Output warping: what the Gaussian process is fitted to instead of the raw objective.

Real objectives are rarely Gaussian. A validation loss spans decades, ``|m − t|`` has a kink at
its optimum, and one diverged run can be a thousand times worse than the others; fitted raw, such
values squash every good point together and the model cannot tell them apart. The engine fits a
monotone transformation instead: a Yeo-Johnson power transform whose exponent maximises the
normal likelihood of the values (HEBO's choice, Cowen-Rivers et al. 2022), after a robust
standardisation (median and interquartile range, so one outlier does not set the scale), then a
final standardisation. Monotone means the minimiser is unchanged, and the order of any two points
is preserved.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

#: Yeo-Johnson exponents outside this range only fit noise in 20-50 values.
_LAMBDA_BOUNDS = (-3.0, 1.0)


def _standardise(y: FloatArray) -> FloatArray:
    spread = float(y.std())
    return (y - float(y.mean())) / (spread if spread > 0 else 1.0)


def warp(y: FloatArray, method: str = "yj") -> FloatArray:
    """Monotone, standardised transform of the finite values ``y`` (lower is still better)."""
    if len(y) < 3 or float(np.ptp(y)) == 0.0 or method == "none":
        return _standardise(y.astype(np.float64))
    if method == "rank":
        return _standardise(stats.norm.ppf((stats.rankdata(y) - 0.5) / len(y)))
    if method.startswith("log"):
        frac = float(method[3:] or 0.1)
        lo, med = float(y.min()), float(np.median(y))
        return _standardise(np.log(y - lo + frac * max(med - lo, 1e-12)))
    q25, q50, q75 = np.percentile(y, [25, 50, 75])
    scale = float(q75 - q25) or float(np.ptp(y))
    z = (y - q50) / scale
    with warnings.catch_warnings():
        # The optimiser may warn about flat likelihoods; any exponent in bounds is acceptable.
        warnings.simplefilter("ignore")
        try:
            lam = float(stats.yeojohnson_normmax(z, brack=None))
        except (ValueError, FloatingPointError, RuntimeError):
            lam = 1.0
    lam = float(np.clip(lam, *_LAMBDA_BOUNDS)) if np.isfinite(lam) else 1.0
    warped = np.asarray(stats.yeojohnson(z, lmbda=lam), dtype=np.float64)
    if not np.all(np.isfinite(warped)):
        warped = stats.rankdata(y).astype(np.float64)
    return _standardise(warped)
