"""What a study optimises: the validation metric, and for an architecture search also cost objectives.

`--objectives val_accuracy,latency` makes a multi-objective study: the first objective is always the
validation metric (the run's `train.monitor`), the others are costs to minimise, measured on the
trial's finished run folder:

- `latency`: milliseconds for one image through the model on one CPU thread, batch 1, the median of
  torch.utils.benchmark's timed blocks (its warm-up and autorange keep the figure stable);
- `flops`: forward FLOPs per example (the run summary's count);
- `params`: trainable parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from neuralab.errors import UserError

COSTS = ("latency", "flops", "params")
Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Objectives:
    """The validation metric first, then the cost objectives, each with its direction."""

    monitor: str
    monitor_direction: Direction
    costs: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [self.monitor, *self.costs]

    @property
    def directions(self) -> list[Direction]:
        return [self.monitor_direction, *(["minimize"] * len(self.costs))]  # type: ignore[list-item]

    @property
    def multi(self) -> bool:
        return bool(self.costs)


def parse_objectives(raw: str | None) -> tuple[str | None, tuple[str, ...]]:
    """`"accuracy,latency"` -> ("val_accuracy", ("latency",)); the first names the validation metric."""
    if not raw:
        return None, ()
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        return None, ()
    first, costs = names[0], names[1:]
    if first in COSTS:
        raise UserError(f"--objectives starts with the validation metric (e.g. accuracy), not {first!r}",
                        hint="e.g. --objectives accuracy,latency")  # fmt: skip
    unknown = [c for c in costs if c not in COSTS]
    if unknown:
        raise UserError(f"unknown objective(s) {', '.join(unknown)}", hint=f"costs are: {', '.join(COSTS)}")
    if len(set(costs)) != len(costs):
        raise UserError("an objective is named twice in --objectives")
    monitor = first if first.startswith("val_") else f"val_{first}"
    return monitor, tuple(costs)


def latency_ms(run_dir: Path) -> float:
    """Median milliseconds per image, batch 1, one thread: what a single request costs on a CPU."""
    import logging

    import torch

    # Importing torch.utils.benchmark warns about a missing CUDA toolkit it never needs here.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils import benchmark

    from neuralab.model_contract import example_input
    from neuralab.runs import load_model

    model, card = load_model(run_dir)
    x = example_input(model, tuple(card["input_shape"]))
    with torch.inference_mode():
        timer = benchmark.Timer(stmt="model(x)", globals={"model": model, "x": x}, num_threads=1)
        measurement = timer.blocked_autorange(min_run_time=0.3)
    return float(measurement.median * 1000)


def cost(name: str, run_dir: Path, summary: dict[str, Any]) -> float:
    if name == "latency":
        return latency_ms(run_dir)
    if name == "flops":
        return float(summary["forward_flops"])
    if name == "params":
        return float(summary["parameters"]["trainable"] if isinstance(summary["parameters"], dict)
                     else summary["parameters"])  # fmt: skip
    raise UserError(f"unknown objective {name!r}")
