"""One validated schema per task: the YAML file, `--set a.b=c` and the CLI flags all land here.

`task` picks the schema (a pydantic discriminated union), so a classification run carries no GAN
settings and a GAN run refuses `model`/`sched` keys it would ignore. Unknown keys and wrong types are
refused by name, with a "did you mean" when a known key is close, so a typo never trains with a default.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator

from neuralab.config.sections import (
    DataConfig,
    GanConfig,
    GanOptimConfig,
    GanTrainConfig,
    ModelConfig,
    OptimConfig,
    RegressTrainConfig,
    SchedConfig,
    SslConfig,
    SslTrainConfig,
    TrainConfig,
    _Section,
)
from neuralab.errors import UserError

_TASKS = (
    "classify, regress (numbers from a table), forecast (a time series), ssl (self-supervised features from "
    "unlabelled images) or gan (a DCGAN on the images)"
)


class _RunBase(_Section):
    name: str | None = Field(None, description="run folder name; default: <dataset>-<model>-<time>")
    out_dir: Path = Field(Path("runs"), description="parent folder of run folders")
    data: DataConfig = Field(default_factory=DataConfig)  # type: ignore[arg-type]

    @field_validator("name")
    @classmethod
    def _one_folder(cls, name: str | None) -> str | None:
        """A run's name is one folder inside out_dir: a shared config must not write elsewhere."""
        if name is not None and (not name.strip() or "/" in name or "\\" in name or name.strip() in {".", ".."}):
            raise ValueError(f"{name!r} is not a folder name (no '/', '\\', '.' or '..'); out_dir sets the parent")
        return name

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


class RunConfig(_RunBase):
    """A classification run (`task: classify`, the default)."""

    task: Literal["classify"] = Field("classify", description=_TASKS)
    model: ModelConfig = Field(default_factory=ModelConfig)  # type: ignore[arg-type]
    optim: OptimConfig = Field(default_factory=OptimConfig)  # type: ignore[arg-type]
    sched: SchedConfig = Field(default_factory=SchedConfig)  # type: ignore[arg-type]
    train: TrainConfig = Field(default_factory=TrainConfig)  # type: ignore[arg-type]


class RegressRunConfig(_RunBase):
    """A regression run (`task: regress`): tables of mixed columns to one or more numbers."""

    task: Literal["regress"] = Field("regress", description=_TASKS)
    model: ModelConfig = Field(default_factory=ModelConfig)  # type: ignore[arg-type]
    optim: OptimConfig = Field(default_factory=OptimConfig)  # type: ignore[arg-type]
    sched: SchedConfig = Field(default_factory=SchedConfig)  # type: ignore[arg-type]
    train: RegressTrainConfig = Field(default_factory=RegressTrainConfig)  # type: ignore[arg-type]


class ForecastRunConfig(_RunBase):
    """A forecasting run (`task: forecast`): the next `data.horizon` steps of a series from `data.window` past ones."""

    task: Literal["forecast"] = Field("forecast", description=_TASKS)
    model: ModelConfig = Field(default_factory=lambda: ModelConfig.model_validate({"name": "sequence_lstm"}))
    optim: OptimConfig = Field(default_factory=OptimConfig)  # type: ignore[arg-type]
    sched: SchedConfig = Field(default_factory=SchedConfig)  # type: ignore[arg-type]
    train: RegressTrainConfig = Field(default_factory=RegressTrainConfig)  # type: ignore[arg-type]


class SslRunConfig(_RunBase):
    """Self-supervised pretraining (`task: ssl`): an image encoder learned without labels (SimCLR)."""

    task: Literal["ssl"] = Field("ssl", description=_TASKS)
    model: ModelConfig = Field(default_factory=lambda: ModelConfig.model_validate({"name": "fast_cnn"}))
    optim: OptimConfig = Field(default_factory=OptimConfig)  # type: ignore[arg-type]
    sched: SchedConfig = Field(default_factory=SchedConfig)  # type: ignore[arg-type]
    train: SslTrainConfig = Field(default_factory=SslTrainConfig)  # type: ignore[arg-type]
    ssl: SslConfig = Field(default_factory=SslConfig)  # type: ignore[arg-type]


class GanRunConfig(_RunBase):
    """A DCGAN run (`task: gan`): its nets are fixed, so it has `gan` instead of `model` and `sched`."""

    task: Literal["gan"] = Field("gan", description=_TASKS)
    optim: GanOptimConfig = Field(default_factory=GanOptimConfig)  # type: ignore[arg-type]
    train: GanTrainConfig = Field(default_factory=GanTrainConfig)  # type: ignore[arg-type]
    gan: GanConfig = Field(default_factory=GanConfig)  # type: ignore[arg-type]


AnyRunConfig = RunConfig | RegressRunConfig | ForecastRunConfig | SslRunConfig | GanRunConfig
ValueRunConfig = RegressRunConfig | ForecastRunConfig  # the tasks that predict numbers
SupervisedRunConfig = RunConfig | RegressRunConfig | ForecastRunConfig  # a model, labels or targets, and splits
FitRunConfig = SupervisedRunConfig | SslRunConfig  # a model fitted by the one Trainer
TASKS: dict[str, type[_RunBase]] = {
    "classify": RunConfig, "regress": RegressRunConfig, "forecast": ForecastRunConfig, "ssl": SslRunConfig,
    "gan": GanRunConfig,
}  # fmt: skip
_ANY = RunConfig | RegressRunConfig | ForecastRunConfig | SslRunConfig | GanRunConfig
_ADAPTER: TypeAdapter[AnyRunConfig] = TypeAdapter(Annotated[_ANY, Field(discriminator="task")])  # type: ignore[arg-type]


def section_model(schema: type[BaseModel], dotted: str) -> type[BaseModel] | None:
    """The pydantic model at a dotted section path of `schema` ('' is the schema itself)."""
    model: type[BaseModel] = schema
    for part in filter(None, dotted.split(".")):
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def suggest(word: str, choices: list[str]) -> str:
    """' (did you mean X?)' when one choice is close to `word`, else ''."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown_key_line(schema: type[BaseModel], loc: tuple[Any, ...]) -> str:
    key = ".".join(str(p) for p in loc)
    parent = ".".join(str(p) for p in loc[:-1])
    model = section_model(schema, parent)
    allowed = list(model.model_fields) if model else []
    task = schema.model_fields["task"].default
    if not parent and any(key in other.model_fields for other in TASKS.values()):
        return f"'{key}' is not used by task: {task} runs; keys of a {task} run: {', '.join(allowed)}"
    where = f"in '{parent}'" if parent else "at the top level"
    return f"unknown config key '{key}'{suggest(str(loc[-1]), allowed)}; keys {where}: {', '.join(allowed)}"


def format_validation_error(err: ValidationError) -> str:
    """One line per problem, naming the dotted key and what is allowed."""
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        if e["type"] == "union_tag_invalid":
            tag = str((e.get("ctx") or {}).get("tag", ""))
            lines.append(
                f"config key 'task': {tag!r} is not a task{suggest(tag, list(TASKS))}; tasks: {', '.join(TASKS)}"
            )
            continue
        schema = TASKS.get(str(loc[0]), RunConfig) if loc else RunConfig
        loc = loc[1:] if loc and loc[0] in TASKS else loc
        if e["type"] == "extra_forbidden":
            lines.append(_unknown_key_line(schema, loc))
        else:
            lines.append(f"config key '{'.'.join(str(p) for p in loc)}': {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def _unknown_everywhere(user: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The keys of `user` that no task's schema has at their place (a free-form field's own keys are not looked at)."""
    sections = [m for m in (section_model(schema, ".".join(path)) for schema in TASKS.values()) if m is not None]
    if not sections:  # a free-form field (model.args, a list of trackers...): its own keys are its business
        return []
    unknown = []
    for key, value in user.items():
        if not any(key in section.model_fields for section in sections):
            unknown.append((*path, str(key)))
        elif isinstance(value, dict):
            unknown += _unknown_everywhere(value, (*path, str(key)))
    return unknown


def refuse_keys_no_task_has(user: dict[str, Any]) -> None:
    """Refuse, before any dataset recipe is looked up (which costs seconds of imports), a key that
    no task has: such a key is wrong whatever task the recipe chooses. Keys of another task are left to
    `validate`, which knows the task."""
    unknown = _unknown_everywhere(user)
    if unknown:
        schema = TASKS.get(str(user.get("task")), RunConfig)
        lines = [_unknown_key_line(schema, loc) for loc in unknown]
        raise UserError("\n".join(lines), hint="`neuralab config keys` lists every key")


def validate(raw: dict[str, Any]) -> AnyRunConfig:
    """The run config `raw` describes; `task` (default classify) chooses which schema applies."""
    raw = {"task": "classify", **raw}
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as err:
        raise UserError(format_validation_error(err), hint="`neuralab config keys` lists every key") from None
