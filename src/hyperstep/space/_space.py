"""A search space: named distributions in a fixed order."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from hyperstep.space._base import Distribution
from hyperstep.space._errors import SpaceError


class Space(dict[str, Distribution]):
    """Parameter name → :class:`Distribution`, in the order the parameters were given.

    The order is part of the meaning: :meth:`grid` enumerates points with the *last* parameter
    varying fastest, and :meth:`sample` draws the parameters in order from one generator, so the
    same seed gives the same points. That is also why :meth:`to_json` writes a list rather
    than an object (a JSON object's key order does not survive every store, e.g. ``jsonb``).
    """

    def __init__(self, distributions: Mapping[str, Distribution] | None = None) -> None:
        super().__init__()
        for name, dist in (distributions or {}).items():
            self[name] = dist

    def __setitem__(self, name: str, dist: Distribution) -> None:
        if not isinstance(name, str) or not name:
            raise SpaceError(f"a parameter name must be a non-empty string, not {name!r}")
        if not isinstance(dist, Distribution):
            raise SpaceError(
                f"must be a distribution, not {type(dist).__name__}", field=f"parameters.{name}"
            )
        super().__setitem__(name, dist)

    @property
    def names(self) -> list[str]:
        """The parameter names in order."""
        return list(self)

    @property
    def size(self) -> int | None:
        """How many points :meth:`grid` yields; ``None`` when a dimension is continuous.

        An empty space has one point, ``{}`` (run the step once with its defaults).
        """
        sizes = [dist.size for dist in self.values()]
        if any(size is None for size in sizes):
            return None
        return math.prod(size for size in sizes if size is not None)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One point: each parameter drawn independently, in order, from ``rng``."""
        return {name: dist.sample(rng) for name, dist in self.items()}

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every point of the Cartesian product; the last parameter varies fastest.

        Raises:
            SpaceError: a dimension is continuous (the field names the parameter).
        """
        supports: list[list[Any]] = []
        for name, dist in self.items():
            try:
                values = dist.values()
            except SpaceError as exc:
                raise SpaceError(exc.message, field=f"parameters.{name}") from None
            if values is None:
                raise SpaceError(
                    f"{dist} is continuous, so a grid cannot enumerate it; give it a step or use"
                    " a random or Bayesian task",
                    field=f"parameters.{name}",
                )
            supports.append(values)
        names = self.names
        for combination in itertools.product(*supports):
            yield dict(zip(names, combination, strict=True))

    def contains(self, point: Mapping[str, Any]) -> bool:
        """True when ``point`` has exactly these names and each value is in its distribution."""
        if set(point) != set(self):
            return False
        return all(dist.contains(point[name]) for name, dist in self.items())

    def to_json(self) -> dict[str, Any]:
        """``{"parameters": [{"name": …, "distribution": {…}}, …]}``, order preserved."""
        return {
            "parameters": [
                {"name": name, "distribution": dist.to_json()} for name, dist in self.items()
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Space:
        """Rebuild a space from :meth:`to_json` output."""
        entries = data.get("parameters") if isinstance(data, Mapping) else None
        if not isinstance(entries, list):
            raise SpaceError('a space must be a JSON object with a "parameters" list')
        space = cls()
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise SpaceError(
                    "must be an object with a name and a distribution",
                    field=f"parameters[{index}]",
                )
            name = entry["name"]
            if name in space:
                raise SpaceError(f"parameter {name!r} appears twice", field=f"parameters[{index}]")
            try:
                space[name] = Distribution.from_json(entry.get("distribution"))  # type: ignore[arg-type]
            except SpaceError as exc:
                raise SpaceError(exc.message, field=f"parameters.{name}") from None
        return space

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={dist}" for name, dist in self.items())
        return f"Space({inner})"
