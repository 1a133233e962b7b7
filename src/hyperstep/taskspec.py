"""``TaskSpec``: everything needed to run one task, whatever it was written as.

A task comes from a ``- task:`` blueprint in ``valohai.yaml``, from the REST API (Valohai's task
payload) or from the CLI; all three become the same frozen :class:`TaskSpec`, which the store
keeps as JSON and the engine runs. :func:`validate_task_spec` checks a spec against its step
before anything is created, so a task never starts executions the step would refuse.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import yaml
from valohai_yaml.lint import LintResult
from valohai_yaml.utils.lint import lint_expression

from hyperstep.errors import EngineUnavailable, HyperstepError, ValidationError
from hyperstep.model import OnChildError, TaskType
from hyperstep.space import check_against_parameter, variant_distribution, variant_values

if TYPE_CHECKING:
    from hyperstep.project import ParamInfo, StepInfo

#: A variant parameter: ``(style, rules)``, as in a blueprint (``("multiple", {"items": [1]})``).
Variant = tuple[str, dict[str, Any]]

#: Bayesian engines by name, with the module each needs and the extra that installs it.
ENGINES: dict[str, tuple[str, str] | None] = {
    "optuna": ("optuna", "hyperstep"),
    "hyperopt": ("hyperopt", "hyperstep[hyperopt]"),
    "auto": None,  # hyperstep's own; always available
}
DIRECTIONS = ("minimize", "maximize")
#: hyperstep's own engine is the default: on the HPO-50×5 benchmark suite it reaches 0.08× the
#: median regret of Optuna's default TPE (benchmarks/README.md); ``optuna`` and ``hyperopt``,
#: Valohai's two engines, stay available by name.
DEFAULT_ENGINE = "auto"
_NEEDS_COUNT = (TaskType.RANDOM_SEARCH, TaskType.BAYESIAN_TPE)


@dataclass(frozen=True)
class TaskSpec:
    """One task, as the engine runs it.

    ``parameters`` holds the varied parameters only; every other step parameter keeps its
    default (the engine resolves values through the step). ``engine=None`` means the default
    engine (:data:`DEFAULT_ENGINE`). ``direction`` (a hyperstep extension) applies only when
    there is no ``optimization_target_value``; ``seed`` makes random draws and Bayesian
    proposals repeatable.
    """

    name: str
    step: str
    type: TaskType = TaskType.GRID_SEARCH
    parameters: dict[str, Variant] = field(default_factory=dict)
    parameter_sets: list[dict[str, Any]] | None = None
    execution_count: int | None = None
    execution_batch_size: int | None = None
    maximum_queued_executions: int | None = None
    optimization_target_metric: str | None = None
    optimization_target_value: float | None = None
    direction: str | None = None
    engine: str | None = None
    on_child_error: OnChildError = OnChildError.CONTINUE_AND_ERROR
    stop_condition: str | None = None
    seed: int | None = None

    # ----------------------------------------------------------------- JSON (the store's form)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_json` reads it back to an equal spec."""
        return {
            "name": self.name,
            "step": self.step,
            "type": self.type.value,
            "parameters": {
                name: {"style": style, "rules": dict(rules)}
                for name, (style, rules) in self.parameters.items()
            },
            "parameter_sets": (
                None if self.parameter_sets is None else [dict(s) for s in self.parameter_sets]
            ),
            "execution_count": self.execution_count,
            "execution_batch_size": self.execution_batch_size,
            "maximum_queued_executions": self.maximum_queued_executions,
            "optimization_target_metric": self.optimization_target_metric,
            "optimization_target_value": self.optimization_target_value,
            "direction": self.direction,
            "engine": self.engine,
            "on_child_error": self.on_child_error.value,
            "stop_condition": self.stop_condition,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskSpec:
        """Read :meth:`to_json`'s output (also accepts dashed keys); errors name the field."""
        reader = _Reader(data, "")
        unknown = sorted(set(data) - _JSON_KEYS - {k.replace("_", "-") for k in _JSON_KEYS})
        if unknown:
            raise ValidationError(f"unknown key {unknown[0]!r}", field=unknown[0])
        return cls(
            name=reader.text("name", required=True) or "",
            step=reader.text("step", required=True) or "",
            type=reader.task_type("type"),
            parameters=reader.variants("parameters"),
            parameter_sets=reader.parameter_sets("parameter_sets"),
            execution_count=reader.integer("execution_count"),
            execution_batch_size=reader.integer("execution_batch_size"),
            maximum_queued_executions=reader.integer("maximum_queued_executions"),
            optimization_target_metric=reader.text("optimization_target_metric"),
            optimization_target_value=reader.number("optimization_target_value"),
            direction=reader.text("direction"),
            engine=reader.text("engine"),
            on_child_error=reader.on_child_error("on_child_error"),
            stop_condition=reader.text("stop_condition"),
            seed=reader.integer("seed"),
        )

    # ------------------------------------------------------------------- Valohai's REST payload

    @classmethod
    def from_api_payload(cls, payload: Mapping[str, Any]) -> TaskSpec:
        """A spec from Valohai's ``POST /api/v0/tasks/`` body.

        Reads ``step``, ``type``, ``parameters`` (``{name: {style, rules}}``, or a plain value,
        which is a ``single``), ``configuration`` (``execution_count``, ``execution_batch_size``,
        ``engine``, ``optimization_target_metric``, ``optimization_target_value``),
        ``maximum_queued_executions`` (also accepted inside ``configuration``),
        ``on_child_error`` (underscored or dashed), ``task_stop_expression`` (or
        ``stop_expression``), ``title``/``name``, and hyperstep's ``direction``, ``seed`` and
        ``parameter_sets``. Other keys of the payload (project, commit, inputs, image, tags…)
        are ignored. A ``manual_search`` without ``parameter_sets`` gets them back from the
        aligned ``multiple`` lists Valohai's client sends instead.
        """
        if not isinstance(payload, Mapping):
            raise ValidationError(f"the task must be a JSON object, not {_kind(payload)}")
        top = _Reader(payload, "")
        config_data = payload.get("configuration")
        if config_data is None:
            config_data = {}
        if not isinstance(config_data, Mapping):
            raise ValidationError(
                f"must be an object, not {_kind(config_data)}", field="configuration"
            )
        conf = _Reader(config_data, "configuration.")
        step = top.text("step", required=True) or ""
        task_type = top.task_type("type")
        parameters = top.variants("parameters")
        parameter_sets = top.parameter_sets("parameter_sets")
        if task_type is TaskType.MANUAL_SEARCH and parameter_sets is None:
            parameters, parameter_sets = _sets_from_aligned_lists(parameters)
        max_queued = top.integer("maximum_queued_executions")
        if max_queued is None:
            max_queued = conf.integer("maximum_queued_executions")
        stop = top.text("task_stop_expression") or top.text("stop_expression")
        name = top.text("name") or top.text("title") or f"{step} {task_type.value}"
        return cls(
            name=name,
            step=step,
            type=task_type,
            parameters=parameters,
            parameter_sets=parameter_sets,
            execution_count=conf.integer("execution_count"),
            execution_batch_size=conf.integer("execution_batch_size"),
            maximum_queued_executions=max_queued,
            optimization_target_metric=conf.text("optimization_target_metric"),
            optimization_target_value=conf.number("optimization_target_value"),
            direction=top.text("direction") or conf.text("direction"),
            engine=conf.text("engine") or top.text("engine"),
            on_child_error=top.on_child_error("on_child_error"),
            stop_condition=stop or None,
            seed=top.integer("seed") if "seed" in payload else conf.integer("seed"),
        )

    # ------------------------------------------------------------------ back to valohai.yaml

    def to_blueprint_yaml(self) -> str:
        """This spec as a ``- task:`` item for ``valohai.yaml`` (loads back to an equal spec).

        Two things have no key in Valohai's schema and are written as a comment instead:
        ``direction`` and ``seed``. A ``single`` whose value is not a number (the schema types
        ``single.value`` as a number) is written as a one-item ``multiple``, which stands for
        the same single value.
        """
        body: dict[str, Any] = {"name": self.name, "step": self.step, "type": self.type.value}
        items = []
        for name, (style, rules) in self.parameters.items():
            if style == "single" and not _is_number(rules.get("value")):
                style, rules = "multiple", {"items": [rules.get("value")]}
            items.append({"name": name, "style": style, "rules": dict(rules)})
        body["parameters"] = items
        if self.parameter_sets is not None:
            body["parameter-sets"] = [dict(s) for s in self.parameter_sets]
        for key, value in (
            ("execution-count", self.execution_count),
            ("execution-batch-size", self.execution_batch_size),
            ("maximum-queued-executions", self.maximum_queued_executions),
            ("optimization-target-metric", self.optimization_target_metric),
            ("optimization-target-value", self.optimization_target_value),
            ("engine", self.engine),
            ("on-child-error", self.on_child_error.value),
            ("stop-condition", self.stop_condition),
        ):
            if value is not None:
                body[key] = value
        text = yaml.safe_dump(
            [{"task": body}], sort_keys=False, default_flow_style=False, allow_unicode=True
        )
        extras = [
            f"{k}={v}"
            for k, v in (("direction", self.direction), ("seed", self.seed))
            if v is not None
        ]
        if extras:
            text = f"# hyperstep: {' '.join(extras)} (no valohai.yaml key)\n" + text
        return text


# ----------------------------------------------------------------------------- validation


def validate_task_spec(spec: TaskSpec, step: StepInfo) -> None:
    """Raise the first problem of ``spec`` for ``step`` (see :func:`task_spec_problems`)."""
    for problem in task_spec_problems(spec, step):
        raise problem


def task_spec_problems(spec: TaskSpec, step: StepInfo) -> Iterator[HyperstepError]:
    """Every reason ``spec`` cannot run on ``step``, in the order a user would fix them.

    Each is a :class:`ValidationError` whose ``field`` names the blueprint key at fault
    (``parameters.learning_rate.rules.min``, ``execution-count``…), or an
    :class:`EngineUnavailable` naming the extra to install.
    """
    if spec.step != step.name:
        yield ValidationError(
            f"is {spec.step!r}, but the step given is {step.name!r}", field="step"
        )
    yield from parameter_problems(spec, step)
    yield from parameter_set_problems(spec, step)
    yield from setting_problems(spec, step)
    yield from stop_condition_problems(spec)


def setting_problems(spec: TaskSpec, step: StepInfo) -> Iterator[HyperstepError]:
    """Counts, engine, target metric, and step parameters left without any value."""
    yield from _count_problems(spec)
    yield from _optimization_problems(spec)
    missing = [
        p.name
        for p in step.parameters.values()
        if p.required
        and p.name not in spec.parameters
        and not any(p.name in s for s in spec.parameter_sets or [])
    ]
    for name in missing:
        yield ValidationError(
            f"step {step.name!r} requires a value (no default), but the task does not vary it",
            field=f"parameters.{name}",
        )


def check_variant(
    spec_type: TaskType, name: str, variant: Variant, param: ParamInfo, seed: int | None
) -> None:
    """Raise unless the variant is well-formed and every value it gives fits ``param``."""
    style, rules = variant
    where = f"parameters.{name}"
    source: Any
    if spec_type in (TaskType.GRID_SEARCH, TaskType.MANUAL_SEARCH):
        source = variant_values(style, rules, field=where, seed=seed if seed is not None else 0)
    else:
        source = variant_distribution(style, rules, field=where)
    check_against_parameter(
        source,
        kind=param.type,
        minimum=param.min,
        maximum=param.max,
        choices=param.choices,
        field=where,
    )


def parameter_problems(spec: TaskSpec, step: StepInfo) -> Iterator[HyperstepError]:
    """Varied parameters the step does not have, or whose values do not fit it."""
    for name, variant in spec.parameters.items():
        param = step.parameters.get(name)
        if param is None:
            yield ValidationError(
                f"step {step.name!r} has no parameter {name!r} (known: {_known(step)})",
                field=f"parameters.{name}",
            )
            continue
        try:
            check_variant(spec.type, name, variant, param, spec.seed)
        except ValidationError as err:
            yield err


def parameter_set_problems(spec: TaskSpec, step: StepInfo) -> Iterator[HyperstepError]:
    """A manual search's sets: present, same keys in each, known parameters, fitting values."""
    sets = spec.parameter_sets
    if spec.type is not TaskType.MANUAL_SEARCH:
        if sets:
            yield ValidationError(
                f"only apply to manual_search, not {spec.type.value}", field="parameter-sets"
            )
        return
    if sets is None:
        if not spec.parameters:
            yield ValidationError(
                "manual_search needs parameter-sets (one execution per set)",
                field="parameter-sets",
            )
        return
    if not sets:
        yield ValidationError("manual_search needs at least one set", field="parameter-sets")
        return
    keys = list(sets[0])
    for index, values in enumerate(sets):
        where = f"parameter-sets.{index}"
        if set(values) != set(keys):
            yield ValidationError(
                f"has keys {sorted(values)}, but set 0 has {sorted(keys)}; every set must "
                "name the same parameters",
                field=where,
            )
        for name, value in values.items():
            param = step.parameters.get(name)
            if param is None:
                yield ValidationError(
                    f"step {step.name!r} has no parameter {name!r} (known: {_known(step)})",
                    field=f"{where}.{name}",
                )
                continue
            if name in spec.parameters:
                yield ValidationError(
                    "is both in parameter-sets and in parameters", field=f"{where}.{name}"
                )
            try:
                check_against_parameter(
                    value if isinstance(value, list) and param.multiple else [value],
                    kind=param.type,
                    minimum=param.min,
                    maximum=param.max,
                    choices=param.choices,
                    field=f"{where}.{name}",
                )
            except ValidationError as err:
                yield err


def _count_problems(spec: TaskSpec) -> Iterator[HyperstepError]:
    count = spec.execution_count
    if count is None and spec.type in _NEEDS_COUNT:
        yield ValidationError(
            f"a {spec.type.value} task needs execution-count (how many executions to run)",
            field="execution-count",
        )
    for key, value in (
        ("execution-count", count),
        ("execution-batch-size", spec.execution_batch_size),
        ("maximum-queued-executions", spec.maximum_queued_executions),
    ):
        if value is not None and value < 1:
            yield ValidationError(f"must be at least 1, not {value}", field=key)


def _optimization_problems(spec: TaskSpec) -> Iterator[HyperstepError]:
    if spec.direction is not None and spec.direction not in DIRECTIONS:
        yield ValidationError(
            f"must be minimize or maximize, not {spec.direction!r}", field="direction"
        )
    target = spec.optimization_target_value
    if target is not None and not math.isfinite(target):
        yield ValidationError("must be a finite number", field="optimization-target-value")
    if spec.engine is not None:
        if spec.engine not in ENGINES:
            yield ValidationError(
                f"unknown engine {spec.engine!r} (expected one of: {', '.join(ENGINES)})",
                field="engine",
            )
        elif spec.type is TaskType.BAYESIAN_TPE:
            needs = ENGINES[spec.engine]
            if needs is not None and importlib.util.find_spec(needs[0]) is None:
                yield EngineUnavailable(
                    f"engine {spec.engine!r} is not installed: pip install '{needs[1]}'"
                )
    if spec.type is TaskType.BAYESIAN_TPE and not spec.optimization_target_metric:
        yield ValidationError(
            "a bayesian_tpe task needs the metric to optimise (a key the step prints)",
            field="optimization-target-metric",
        )


def stop_condition_problems(spec: TaskSpec) -> Iterator[HyperstepError]:
    """The stop-condition must parse as a leval expression, checked as valohai-yaml does."""
    if spec.stop_condition is None:
        return
    result = LintResult()
    context: dict[str, Any] = {"object_type": "task", "task": SimpleNamespace(name=spec.name)}
    lint_expression(result, context, "stop-condition", spec.stop_condition)
    for message in result.errors:
        detail = message["message"].split("is not a valid expression: ", 1)[-1]
        yield ValidationError(
            f"{spec.stop_condition!r} is not a valid expression: {detail}",
            field="stop-condition",
        )


def _known(step: StepInfo) -> str:
    return ", ".join(step.parameters) or "none"


# --------------------------------------------------------------------------- payload reading

_JSON_KEYS = frozenset(TaskSpec.__dataclass_fields__)


class _Reader:
    """Typed reads from a JSON mapping; every error names ``<prefix><key>``."""

    def __init__(self, data: Mapping[str, Any], prefix: str) -> None:
        self.data = data
        self.prefix = prefix

    def get(self, key: str) -> Any:
        if key in self.data:
            return self.data[key]
        return self.data.get(key.replace("_", "-"))

    def where(self, key: str) -> str:
        return self.prefix + key

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                raise ValidationError("is required", field=self.where(key))
            return None
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, not {_kind(value)}", field=self.where(key))
        if "\x00" in value:
            raise ValidationError("contains a NUL byte", field=self.where(key))
        if required and not value.strip():
            raise ValidationError("must not be empty", field=self.where(key))
        return value

    def integer(self, key: str) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be an integer, not {value!r}", field=self.where(key))
        return value

    def number(self, key: str) -> float | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"must be a number, not {value!r}", field=self.where(key))
        return float(value)

    def task_type(self, key: str) -> TaskType:
        value = self.text(key)
        if value is None:
            return TaskType.GRID_SEARCH
        try:
            return TaskType.parse(value)
        except ValueError as err:
            raise ValidationError(str(err), field=self.where(key)) from None

    def on_child_error(self, key: str) -> OnChildError:
        value = self.text(key)
        if value is None:
            return OnChildError.CONTINUE_AND_ERROR
        try:
            return OnChildError.parse(value)
        except ValueError as err:
            raise ValidationError(str(err), field=self.where(key)) from None

    def variants(self, key: str) -> dict[str, Variant]:
        value = self.get(key)
        if value is None:
            return {}
        if isinstance(value, list):  # blueprint form: [{name, style, rules}]
            value = _variant_list_to_mapping(value, self.where(key))
        if not isinstance(value, Mapping):
            raise ValidationError(f"must be an object, not {_kind(value)}", field=self.where(key))
        result: dict[str, Variant] = {}
        for name, item in value.items():
            where = f"{self.where(key)}.{name}"
            if isinstance(item, Mapping) and "style" in item:
                style = item.get("style")
                rules = item.get("rules")
                if not isinstance(style, str):
                    raise ValidationError(
                        f"must be a string, not {_kind(style)}", field=f"{where}.style"
                    )
                if not isinstance(rules, Mapping):
                    raise ValidationError(
                        f"must be an object, not {_kind(rules)}", field=f"{where}.rules"
                    )
                result[str(name)] = (style.strip().lower(), dict(rules))
            else:  # a plain value, as pipeline templates send the parameters a task does not vary
                result[str(name)] = ("single", {"value": item})
        return result

    def parameter_sets(self, key: str) -> list[dict[str, Any]] | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValidationError(f"must be a list, not {_kind(value)}", field=self.where(key))
        sets: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ValidationError(
                    f"must be an object, not {_kind(item)}", field=f"{self.where(key)}.{index}"
                )
            sets.append({str(k): v for k, v in item.items()})
        return sets


def _variant_list_to_mapping(items: Sequence[Any], where: str) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ValidationError("must be an object with a name", field=f"{where}.{index}")
        mapping[item["name"]] = {"style": item.get("style") or "single", "rules": item.get("rules")}
    return mapping


def _sets_from_aligned_lists(
    parameters: dict[str, Variant],
) -> tuple[dict[str, Variant], list[dict[str, Any]] | None]:
    """Valohai's client sends a manual search's sets as aligned ``multiple`` lists: zip them."""
    aligned = {
        n: r["items"] for n, (s, r) in parameters.items() if s == "multiple" and "items" in r
    }
    lengths = {len(items) for items in aligned.values() if isinstance(items, list)}
    if (
        not aligned
        or len(lengths) != 1
        or len(aligned) != sum(isinstance(i, list) for i in aligned.values())
    ):
        return parameters, None
    (length,) = lengths
    sets = [{name: items[i] for name, items in aligned.items()} for i in range(length)]
    rest = {n: v for n, v in parameters.items() if n not in aligned}
    return rest, sets


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {
        type(None): "null",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
