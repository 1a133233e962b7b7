"""Search spaces: distributions, variant parameters and their values.

This is the leaf of hyperstep: it imports only numpy, the standard library and
:mod:`hyperstep.errors`, so every other module can use it.

* :class:`Distribution` and its kinds (:class:`Uniform`, :class:`LogUniform`,
  :class:`Integer`, :class:`Categorical`, :class:`Fixed`) sample, enumerate and check values
  and round-trip through JSON.
* :class:`Space` names distributions in order: sampling, grid enumeration, size.
* :func:`variant_values` / :func:`variant_distribution` read Valohai's variant parameters
  (``style`` + ``rules``) as value lists or distributions; :func:`parse_distribution` reads
  the CLI's compact form (``loguniform(-5, -1)``).
* :func:`check_against_parameter` checks them against a step parameter's type and bounds.
"""

from __future__ import annotations

from hyperstep.space._base import MAX_ENUMERATION, Distribution
from hyperstep.space._check import check_against_parameter
from hyperstep.space._continuous import LogUniform, Uniform
from hyperstep.space._discrete import Categorical, Fixed, Integer
from hyperstep.space._errors import SpaceError
from hyperstep.space._parse import parse_distribution
from hyperstep.space._space import Space
from hyperstep.space._variants import MAX_VALUES, STYLES, variant_distribution, variant_values

__all__ = [
    "MAX_ENUMERATION",
    "MAX_VALUES",
    "STYLES",
    "Categorical",
    "Distribution",
    "Fixed",
    "Integer",
    "LogUniform",
    "Space",
    "SpaceError",
    "Uniform",
    "check_against_parameter",
    "parse_distribution",
    "variant_distribution",
    "variant_values",
]
