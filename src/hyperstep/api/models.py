"""Request and response schemas of the REST API (what ``/openapi.json`` documents).

Request models forbid unknown keys: a payload can name a step and typed parameter values,
never a command (commands come only from the project's ``valohai.yaml``). A few keys Valohai's
clients send that mean nothing to a local runner (``project``, ``commit``, ``tags``...) are
accepted and ignored, so those clients work unchanged. Limits keep one request from asking for
absurd amounts of work.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

MAX_EXECUTIONS = 100_000
MAX_BATCH = 1_000
MAX_TEXT = 10_000
MAX_NAME = 200

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
Value = Scalar | list[Scalar]

_IGNORED = "Accepted for compatibility with Valohai's clients; not used by hyperstep."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Rules(_Strict):
    """The ``rules`` of a variant parameter; which keys apply depends on the style."""

    value: Value | None = Field(default=None, description="single: the value")
    items: list[Scalar] | None = Field(
        default=None, description="multiple: the values (Categorical)"
    )
    start: float | None = Field(
        default=None, description="linear/logspace: first value or exponent"
    )
    end: float | None = Field(default=None, description="linear/logspace: last value or exponent")
    step: float | None = Field(
        None, description="linear: the step; random: Q.Step (values min + k·step)"
    )
    count: int | None = Field(default=None, ge=1, le=MAX_EXECUTIONS, description="logspace/random")
    base: float | None = Field(default=None, description="logspace/loguniform: the base (10)")
    min: float | None = Field(
        default=None, description="random/logspace: lower bound (exponent for log)"
    )
    max: float | None = Field(
        default=None, description="random/logspace: upper bound (exponent for log)"
    )
    distribution: (
        Literal["uniform", "loguniform", "log_uniform", "log-uniform", "integer", "int"] | None
    ) = Field(default=None, description="random: uniform, loguniform or integer")
    integerify: bool | None = Field(default=None, description="round down and remove duplicates")
    numberify: bool | None = None
    seed: int | None = Field(default=None, description="random: seed of the draws")


class Variant(_Strict):
    """How a task varies one parameter (Valohai's variant parameter)."""

    style: Literal["single", "multiple", "linear", "logspace", "random"]
    rules: Rules


class Configuration(_Strict):
    """Valohai's ``configuration`` object of a task (only the keys that are set)."""

    execution_count: int | None = Field(default=None, ge=1, le=MAX_EXECUTIONS)
    execution_batch_size: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    maximum_queued_executions: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    engine: Literal["optuna", "hyperopt", "auto"] | None = None
    optimization_target_metric: str | None = Field(default=None, max_length=MAX_NAME)
    optimization_target_value: float | None = None
    direction: Literal["minimize", "maximize"] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class TaskCreate(_Strict):
    """``POST /api/v0/tasks/``: Valohai's task payload."""

    step: str = Field(min_length=1, max_length=MAX_NAME)
    type: Literal["grid_search", "random_search", "manual_search", "bayesian_tpe"] = "grid_search"
    parameters: dict[str, Variant] = Field(default_factory=dict)
    parameter_sets: list[dict[str, Value]] | None = Field(
        None, max_length=MAX_EXECUTIONS, description="manual_search: one execution per set"
    )
    configuration: Configuration = Field(default_factory=lambda: Configuration())
    maximum_queued_executions: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    on_child_error: (
        Literal[
            "continue_and_complete",
            "continue_and_error",
            "stop_all_and_error",
            "continue-and-complete",
            "continue-and-error",
            "stop-all-and-error",
        ]
        | None
    ) = None
    task_stop_expression: str | None = Field(
        None, max_length=MAX_TEXT, description="early stopping, e.g. 'val_accuracy > 0.95'"
    )
    stop_expression: str | None = Field(default=None, max_length=MAX_TEXT)
    title: str | None = Field(default=None, max_length=MAX_NAME)
    name: str | None = Field(default=None, max_length=MAX_NAME)
    direction: Literal["minimize", "maximize"] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    project: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    commit: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    tags: list[str] | None = Field(default=None, description=_IGNORED)
    priority: int | None = Field(default=None, description=_IGNORED)
    image: str | None = Field(default=None, max_length=MAX_TEXT, description=_IGNORED)
    environment: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    allow_reuse: bool | None = Field(default=None, description=_IGNORED)
    inputs: dict[str, list[str]] | None = Field(
        None, description="Must be empty: hyperstep does not download inputs."
    )

    def payload(self) -> dict[str, Any]:
        """The dict :meth:`TaskSpec.from_api_payload` reads (ignored keys left out)."""
        data = self.model_dump(exclude_none=True, exclude=_IGNORED_KEYS)
        data["configuration"] = self.configuration.model_dump(exclude_none=True)
        return data


class ExecutionCreate(_Strict):
    """``POST /api/v0/executions/``: a step and its parameter values (never a command)."""

    step: str = Field(min_length=1, max_length=MAX_NAME)
    parameters: dict[str, Value] = Field(default_factory=dict)
    title: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    project: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    commit: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    tags: list[str] | None = Field(default=None, description=_IGNORED)
    image: str | None = Field(default=None, max_length=MAX_TEXT, description=_IGNORED)
    environment: str | None = Field(default=None, max_length=MAX_NAME, description=_IGNORED)
    inputs: dict[str, list[str]] | None = Field(
        None, description="Must be empty: hyperstep does not download inputs."
    )


_IGNORED_KEYS = {
    "project",
    "commit",
    "tags",
    "priority",
    "image",
    "environment",
    "allow_reuse",
    "inputs",
}


# -- responses (documentation: extra keys are allowed, values as the store holds them) ------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ExecutionOut(_Open):
    id: str
    counter: int
    status: str
    step: str
    parameters: dict[str, Any]
    cumulative_metadata: dict[str, Any]
    command: str
    task: str | None
    task_counter: int | None
    urls: dict[str, str]


class ExecutionList(_Open):
    count: int
    next: str | None
    previous: str | None
    results: list[ExecutionOut]


class Progress(BaseModel):
    done: int
    total: int
    running: int
    failed: int


class TaskOut(_Open):
    id: str
    counter: int
    name: str | None
    step: str
    type: str
    status: str
    status_detail: str | None
    configuration: dict[str, Any]
    status_summary: dict[str, int]
    progress: Progress
    best: dict[str, Any] | None
    urls: dict[str, str]


class TaskList(_Open):
    count: int
    next: str | None
    previous: str | None
    results: list[TaskOut]


class ParameterOut(_Open):
    name: str
    type: str
    default: Any = None
    optional: bool
    min: float | None
    max: float | None
    choices: list[Any] | None
    multiple: str | None
    description: str | None


class StepOut(_Open):
    name: str
    image: str
    command: list[str]
    parameters: list[ParameterOut]


class StepList(_Open):
    count: int
    results: list[StepOut]


class BlueprintOut(_Open):
    name: str
    step: str
    type: str
    valid: bool
    error: str | None
    payload: dict[str, Any] | None
    yaml: str | None


class BlueprintList(_Open):
    count: int
    results: list[BlueprintOut]


class Validation(_Open):
    """``POST /api/v0/tasks/validate/``: every problem, and what the task would run."""

    valid: bool
    errors: list[dict[str, Any]]
    count: int | None
    notes: list[str]
    parameters: dict[str, str]
    blueprint: str | None


class LogEvent(_Open):
    seq: int
    stream: str
    time: str
    message: str


class LogPage(_Open):
    total: int
    truncated: bool
    events: list[LogEvent]


class MetadataEvent(_Open):
    seq: int
    time: str
    data: dict[str, Any]


class MetadataPage(_Open):
    total: int
    keys: list[str]
    events: list[MetadataEvent]


class PlotData(_Open):
    metric: str | None
    metrics: list[str]
    n: int
    counter: list[int]
    n_total: int
    value: list[float | None]
    best_line: dict[str, list[Any]]
    parameters: list[dict[str, Any]]
    importance: list[dict[str, Any]] | None
