"""Manual search: one execution per parameter set, in the order given.

Valohai turns ``parameter-sets`` into aligned value lists, so a manual search is a *zip*, not a
product: set ``i`` is point ``i``. A set listed twice runs twice, as the user wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hyperstep.errors import ValidationError
from hyperstep.model import TaskType
from hyperstep.search.base import ListedSearch
from hyperstep.search.points import plain_point


class ManualSearch(ListedSearch):
    """The parameter sets, one point each."""

    kind = TaskType.MANUAL_SEARCH

    def __init__(self, parameter_sets: Sequence[Mapping[str, Any]] | None) -> None:
        if parameter_sets is None:
            raise ValidationError("a manual search needs parameter sets", field="parameter_sets")
        if isinstance(parameter_sets, (str, bytes, Mapping)) or not isinstance(
            parameter_sets, Sequence
        ):
            raise ValidationError("must be a list of parameter dicts", field="parameter_sets")
        sets: list[dict[str, Any]] = []
        names: list[str] = []
        for index, params in enumerate(parameter_sets):
            if not isinstance(params, Mapping):
                raise ValidationError(
                    f"must be a dict of parameter values, not {type(params).__name__}",
                    field=f"parameter_sets[{index}]",
                )
            sets.append(plain_point(params))
            names.extend(name for name in params if name not in names)
        super().__init__(names)
        self._sets = sets

    @property
    def total(self) -> int:
        return len(self._sets)

    def point(self, index: int) -> dict[str, Any] | None:
        if 0 <= index < len(self._sets):
            return dict(self._sets[index])
        return None


__all__ = ["ManualSearch"]
