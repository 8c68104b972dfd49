"""The run config: its sections, one schema per task, and where settings come from (YAML, --set, flags)."""

from neuralab.config.overrides import deep_merge, load_yaml, parse_set, parse_value, set_dotted
from neuralab.config.schema import (
    TASKS,
    AnyRunConfig,
    GanRunConfig,
    RegressRunConfig,
    RunConfig,
    SupervisedRunConfig,
    format_validation_error,
    suggest,
    validate,
)
from neuralab.config.sections import (
    DataConfig,
    GanConfig,
    GanOptimConfig,
    GanTrainConfig,
    ModelConfig,
    OptimConfig,
    RegressTrainConfig,
    SchedConfig,
    TrainConfig,
)

__all__ = [
    "TASKS",
    "AnyRunConfig",
    "DataConfig",
    "GanConfig",
    "GanOptimConfig",
    "GanRunConfig",
    "GanTrainConfig",
    "ModelConfig",
    "OptimConfig",
    "RegressRunConfig",
    "RegressTrainConfig",
    "RunConfig",
    "SchedConfig",
    "SupervisedRunConfig",
    "TrainConfig",
    "deep_merge",
    "format_validation_error",
    "load_yaml",
    "parse_set",
    "parse_value",
    "set_dotted",
    "suggest",
    "validate",
]
