"""What a run folder records for people (summary.json, findings.json, metrics.csv), read as data that may
come from anyone: a run folder is shared, copied and edited by hand.

Every field a command reads is checked for its type here, where the file is read, so a wrong type is
refused by file and field ("summary.json: test.accuracy: Input should be a valid number") instead of
surfacing as a raw traceback from deep inside a report. Fields nobody reads are left as they are.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, ValidationError

from neuralab.errors import UserError

# Shown in messages; a hand-edited file can hold any text, and a message is no place for all of it.
_SHOWN_CHARS = 60


# The default of a field that may be absent. Defaults are never validated nor written back (only the
# file's own values are checked, and the file's dict is what commands use), so a field that is present
# must have its type, null included, and one that is absent stays absent.
_ABSENT: Any = None


class _Record(BaseModel):
    # strict: "0.9" is not a number and 5 is not a name; extra fields are kept and not checked
    model_config = ConfigDict(strict=True, extra="allow")


class MeanInterval(_Record):
    """A group's metric over its seeds (experiments.stats.mean_interval)."""

    mean: float
    std: float = _ABSENT
    ci95: list[float] = _ABSENT
    values: list[float] = _ABSENT


class PerClass(_Record):
    precision: float
    recall: float
    f1: float
    support: int


def _metric(value: Any) -> Any:
    """A run's number, or a group's mean over seeds: one message for both, not one per member of a union."""
    if isinstance(value, bool) or not isinstance(value, int | float | dict):
        raise ValueError("should be a number (or, in a group, an object with its mean)")
    if isinstance(value, dict):
        MeanInterval.model_validate(value)
    return value


Metric = Annotated[Any, AfterValidator(_metric)]


class ProbeScores(_Record):
    """A self-supervised run's linear probe, fitted on some labels (pipeline.ssl)."""

    train_images: int
    features: float
    untrained_encoder: float
    raw_pixels: float


class LinearProbe(_Record):
    test_images: int
    all_labels: ProbeScores
    few_labels: ProbeScores


class TestMetrics(_Record):
    loss: Metric = _ABSENT
    accuracy: Metric = _ABSENT
    balanced_accuracy: Metric = _ABSENT
    macro_f1: Metric = _ABSENT
    rmse: Metric = _ABSENT
    mae: Metric = _ABSENT
    r2: Metric = _ABSENT
    mase: Metric = _ABSENT
    per_class: dict[str, PerClass] = _ABSENT
    confusion_matrix: list[list[int]] = _ABSENT
    linear_probe: LinearProbe = _ABSENT
    mean_baseline: dict[str, float] = _ABSENT  # regression
    baselines: dict[str, dict[str, float]] = _ABSENT  # forecasting
    mase_season: int = _ABSENT


class Best(_Record):
    epoch: int
    monitor: str = _ABSENT
    value: float | None = _ABSENT  # a federated run keeps its last round, with no value to compare


class Parameters(_Record):
    # a GAN counts its generator's and discriminator's instead
    trainable: int = _ABSENT
    frozen: int = _ABSENT


class Summary(_Record):
    """summary.json of a run, or the group file of `train --repeats`."""

    kind: str = _ABSENT
    task: str = _ABSENT
    model: str = _ABSENT
    dataset: str = _ABSENT
    targets: list[str] = _ABSENT
    test: TestMetrics | None = None  # a run never evaluated on the test split
    best: Best = _ABSENT
    epochs_run: int = _ABSENT
    train_seconds: Metric = _ABSENT
    train_images_per_s: float = _ABSENT
    parameters: Parameters = _ABSENT
    device: str = _ABSENT
    precision: str = _ABSENT
    seeds: list[int] = _ABSENT
    runs: list[str] = _ABSENT
    finished_at: str = _ABSENT
    config: dict[str, Any] = _ABSENT


class FindingRecord(_Record):
    kind: str
    where: str
    evidence: str
    remedies: list[str] = []


_FINDINGS = TypeAdapter(list[FindingRecord])


def _problems(err: ValidationError, limit: int = 3) -> str:
    """'test.accuracy: Input should be a valid number (got "high")', for the first few problems."""
    parts = []
    for problem in err.errors()[:limit]:
        where = ".".join(f"[{part}]" if isinstance(part, int) else part for part in problem["loc"])
        where = where.replace(".[", "[") or "the top level"
        got = json.dumps(problem.get("input"), default=str)
        got = got if len(got) <= _SHOWN_CHARS else got[:_SHOWN_CHARS] + "…"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message} (got {got})")
    more = err.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def read_json(path: Path) -> Any:
    """The JSON value in `path`; a missing or unparsable file is refused by name."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not valid JSON ({err})") from None


def check_summary(raw: Any, path: Path) -> dict[str, Any]:
    """`raw` itself once every field commands read has its type; a summary must be a JSON object."""
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a JSON object, not a {type(raw).__name__}")
    try:
        Summary.model_validate(raw)
    except ValidationError as err:
        raise UserError(f"{path} is malformed: {_problems(err)}", hint="retrain the run to rewrite it") from None
    return raw


def read_summary(path: Path) -> dict[str, Any]:
    """summary.json (or a group's file), checked."""
    return check_summary(read_json(path), path)


def read_findings(path: Path) -> list[dict[str, Any]]:
    """findings.json: a list of {kind, where, evidence, remedies}, checked."""
    raw = read_json(path)
    if not isinstance(raw, list):
        raise UserError(f"{path} must hold a JSON list of findings, not a {type(raw).__name__}")
    try:
        return [finding.model_dump() for finding in _FINDINGS.validate_python(raw)]
    except ValidationError as err:
        raise UserError(
            f"{path} is malformed: {_problems(err)}",
            hint="training writes it; without it, `neuralab diagnose` judges the curves in metrics.csv alone",
        ) from None


def read_metric_rows(path: Path) -> list[dict[str, float]]:
    """metrics.csv, one dict per epoch (empty cells left out); a cell that is not a number is refused by line."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"{path} cannot be read ({err})") from None
    numbers = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        if None in row:
            raise UserError(f"{path}, line {line}: more values than the header has columns")
        parsed = {}
        for key, value in row.items():
            if value in ("", None):
                continue
            try:
                parsed[key] = float(value)
            except ValueError:
                shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
                raise UserError(f"{path}, line {line}, column {key!r}: {shown!r} is not a number") from None
        numbers.append(parsed)
    return numbers


def read_metrics(path: Path) -> dict[str, list[float]]:
    """metrics.csv as columns of numbers, checked as `read_metric_rows` checks it."""
    columns: dict[str, list[float]] = {}
    for row in read_metric_rows(path):
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    return columns
