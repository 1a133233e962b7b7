"""hyperstep's own Bayesian engine, ``engine: auto``.

A Gaussian process (Matérn-5/2, one lengthscale per parameter, MAP hyperparameters) on a warped
objective, log expected improvement maximised over snapped candidates, and kriging-believer
batches. See :class:`AutoEngine` for the choices and ``benchmarks/README.md`` for the evidence.
"""

from hyperstep.search.auto._engine import AutoEngine

__all__ = ["AutoEngine"]
