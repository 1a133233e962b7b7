"""The distributions a parameter of a search space is drawn from.

Five kinds cover Valohai's variant parameters and Bayesian distributions:

============  ==================================================  ===========================
class         values                                              Valohai spelling
============  ==================================================  ===========================
Uniform       floats in ``[low, high]``                           ``random`` / ``uniform``
LogUniform    floats in ``[base**min_exp, base**max_exp]``,       ``random`` / ``loguniform``
              uniform in the exponent
Integer       ints ``low, low + step, … <= high``                 ``random`` / ``integer``
Categorical   one of a list of str/int/float/bool choices         ``multiple`` (``linear`` and
                                                                  ``logspace`` when ordered)
Fixed         one value                                           ``single``
============  ==================================================  ===========================

``step`` is Valohai's *Q.Step*: a stepped distribution only yields ``low + k·step`` inside the
bounds, so every value a search proposes is one a grid over the same rules could produce.
For :class:`LogUniform` the step rounds the *value* (not the exponent), as Hyperopt's
``qloguniform`` does, but onto the lattice that starts at ``low`` rather than at 0, so a
rounded value never leaves the bounds.

Every value a distribution returns is a plain Python ``int``/``float``/``str``/``bool``, never a
numpy scalar, so it can go straight into JSON, SQL and a command line.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hyperstep.space._errors import SpaceError
from hyperstep.space._numbers import format_number, is_number

#: ``values()`` refuses to build a list longer than this (``size`` stays exact): an
#: ``Integer(0, 10**9)`` is a fine Bayesian dimension but not a list to hold in memory.
MAX_ENUMERATION = 1_000_000


_KINDS: dict[str, type[Distribution]] = {}


class Distribution(abc.ABC):
    """What one parameter of a :class:`~hyperstep.space.Space` can take.

    Contract for every subclass:

    * ``sample(rng)`` returns a value for which ``contains`` is true;
    * ``values()`` is the finite support in a stable order, or ``None`` when it is continuous;
    * ``size`` is ``len(values())`` without building the list (``None`` when continuous);
    * ``Distribution.from_json(d.to_json()) == d``.
    """

    #: The ``type`` tag of the JSON form.
    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each concrete kind registers its tag, so from_json needs no list to keep in sync.
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            _KINDS[cls.kind] = cls

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value with ``rng`` (the only source of randomness, so seeds reproduce)."""

    @abc.abstractmethod
    def contains(self, value: Any) -> bool:
        """True when ``value`` is one this distribution can produce (numpy scalars included)."""

    @property
    @abc.abstractmethod
    def size(self) -> int | None:
        """The number of distinct values, or ``None`` for a continuous distribution."""

    @abc.abstractmethod
    def _enumerate(self) -> list[Any]:
        """The finite support; only called when ``size`` is not ``None``."""

    @abc.abstractmethod
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with a ``type`` tag; :meth:`from_json` reads it back."""

    def values(self) -> list[Any] | None:
        """The finite support in order (lattice order, or the order of the choices), else None.

        Raises:
            SpaceError: the support has more than :data:`MAX_ENUMERATION` values.
        """
        size = self.size
        if size is None:
            return None
        if size > MAX_ENUMERATION:
            raise SpaceError(
                f"{self} has {size} values, too many to enumerate (at most {MAX_ENUMERATION})"
            )
        return self._enumerate()

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Distribution:
        """Rebuild a distribution from :meth:`to_json` output (validating it again)."""
        if not isinstance(data, Mapping):
            raise SpaceError(f"a distribution must be a JSON object, not {type(data).__name__}")
        kind = data.get("type")
        cls = _KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(sorted(_KINDS))
            raise SpaceError(f"unknown distribution type {kind!r} (expected one of: {known})")
        return cls._from_json(data)

    @classmethod
    @abc.abstractmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Distribution: ...


def check_number(value: Any, what: str) -> float:
    if not is_number(value) or not math.isfinite(value):
        raise SpaceError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def check_step(step: Any) -> float | None:
    if step is None:
        return None
    value = check_number(step, "step")
    if value <= 0:
        raise SpaceError(f"step must be greater than 0, not {format_number(value)}")
    return value


def check_order(low: float, high: float, low_name: str, high_name: str) -> None:
    if low > high:
        raise SpaceError(
            f"{low_name} {format_number(low)} is greater than {high_name} {format_number(high)}"
        )


def json_field(data: Mapping[str, Any], key: str, default: Any = ...) -> Any:
    if key in data:
        return data[key]
    if default is ...:
        raise SpaceError(f"{data.get('type')} distribution JSON lacks {key!r}")
    return default


def render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return format_number(value)
