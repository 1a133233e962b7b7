"""Log expected improvement and the search for its maximum over a mixed space.

Expected improvement underflows to exactly zero far from the best point, which leaves an
optimiser with a flat landscape; its logarithm (Ament et al. 2023, "Unexpected improvements to
expected improvement") stays informative everywhere, so candidates can still be ranked.

The maximiser is derivative-free on purpose: with integers, steps and categoricals in the space,
the exact points that can be proposed are discrete, and each candidate is snapped before it is
scored. It combines uniform draws (exploration), moves around the best observed points
(exploitation of what is known), and a few rounds of shrinking moves around the best candidates.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfcx, log_ndtr

from hyperstep.search.auto._encoding import SpaceEncoder
from hyperstep.search.auto._gp import GaussianProcess

FloatArray = NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)


def log_expected_improvement(mean: FloatArray, std: FloatArray, best: float) -> FloatArray:
    """``log E[max(best − f, 0)]`` for ``f ~ N(mean, std²)`` (minimisation), stable for any z."""
    z = (best - mean) / std
    out = np.empty_like(z)
    # h(z) = φ(z) + zΦ(z) = φ(z)·(1 − |z|·sqrt(π/2)·erfcx(|z|/sqrt 2)) for z < 0.
    high = z > -1.0
    zh = z[high]
    out[high] = np.log(np.exp(-0.5 * zh * zh - _LOG_SQRT_2PI) + zh * np.exp(log_ndtr(zh)))
    zl = z[~high]
    tail = 1.0 - np.abs(zl) * _SQRT_HALF_PI * erfcx(np.abs(zl) / math.sqrt(2.0))
    # Past |z| ~ 1e4 the bracket is ~1/z² and loses precision; use that asymptote directly.
    tail = np.where(zl < -1e4, 1.0 / (zl * zl), np.maximum(tail, 1e-300))
    out[~high] = -0.5 * zl * zl - _LOG_SQRT_2PI + np.log(tail)
    return out + np.log(std)


#: Step sizes (fractions of each axis) of the moves around the incumbents.
_LOCAL_SCALES = (0.003, 0.01, 0.03, 0.1, 0.3)
#: Step sizes of the trust-region search (``local=True``).
_TRUST_SCALES = (0.01, 0.03, 0.1)


class AcquisitionSearch:
    """Finds the snapped point of highest log-EI, given a fitted model and the incumbents."""

    def __init__(
        self,
        encoder: SpaceEncoder,
        rng: np.random.Generator,
        n_random: int = 512,
        n_local: int = 320,
        n_starts: int = 8,
        rounds: tuple[float, ...] = (0.2, 0.07, 0.02, 0.007, 0.002),
        n_moves: int = 32,
    ) -> None:
        self.encoder = encoder
        self.rng = rng
        self.n_random, self.n_local = n_random, n_local
        self.n_starts, self.rounds, self.n_moves = n_starts, rounds, n_moves

    def ranked(
        self,
        model: GaussianProcess,
        best: float,
        incumbents: FloatArray,
        local: bool = False,
    ) -> tuple[FloatArray, FloatArray]:
        """Candidates (snapped rows) and their log-EI, best first.

        ``local`` searches only close to the incumbents (no uniform draws, small moves): a
        trust region around what is known to be good.
        """
        enc, rng = self.encoder, self.rng
        if local:
            pools = [
                enc.perturb(incumbents[rng.integers(0, len(incumbents), self.n_local)], s, rng)
                for s in _TRUST_SCALES
            ]
            return self._refine(model, best, np.vstack(pools), self.rounds[2:])
        pools = [enc.sample(rng, self.n_random)]
        if len(incumbents):
            # Moves of every size around the best observed points, one parameter or a few.
            per_scale = max(1, self.n_local // len(_LOCAL_SCALES))
            for scale in _LOCAL_SCALES:
                seeds = incumbents[rng.integers(0, len(incumbents), per_scale)]
                pools.append(enc.perturb(seeds, scale, rng, n_changed=1.0 + 2.0 * scale))
        return self._refine(model, best, np.vstack(pools), self.rounds)

    def _refine(
        self, model: GaussianProcess, best: float, cand: FloatArray, rounds: tuple[float, ...]
    ) -> tuple[FloatArray, FloatArray]:
        """Shrinking moves around the best few candidates; everything scored, best first."""
        enc, rng = self.encoder, self.rng
        score = self._score(model, best, cand)
        for scale in rounds:
            top = np.argsort(-score)[: self.n_starts]
            starts = cand[np.repeat(top, self.n_moves)]
            moved = enc.perturb(starts, scale, rng)
            moved_score = self._score(model, best, moved)
            cand = np.vstack([cand, moved])
            score = np.concatenate([score, moved_score])
        order = np.argsort(-score, kind="stable")
        return cand[order], score[order]

    @staticmethod
    def _score(model: GaussianProcess, best: float, x: FloatArray) -> FloatArray:
        mean, std = model.predict(x)
        return log_expected_improvement(mean, std, best)
