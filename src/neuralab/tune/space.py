"""The `search:` section of a tuning config: ranges over any dotted config key, suggested define-by-run.

    search:
      optim.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
      train.batch_size: {type: categorical, choices: [32, 64, 128]}
      model.args.widths: {type: categorical, choices: [[64], [256, 128]]}
      train.epochs: {type: int, low: 2, high: 6}

The grid sampler needs a finite set per key: categorical choices, an int range, or `grid: [...]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import optuna

from neuralab.config import deep_merge, set_dotted
from neuralab.errors import UserError

KINDS = ("float", "int", "categorical")
_PRIMITIVE = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Param:
    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] = field(default_factory=list)
    grid: list[Any] = field(default_factory=list)

    def example(self) -> Any:
        if self.kind == "categorical":
            return self.choices[0]
        return int(self.low) if self.kind == "int" else self.low  # type: ignore[arg-type]

    def grid_values(self) -> list[Any]:
        if self.grid:
            return self.grid
        if self.kind == "categorical":
            return self.choices
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))  # type: ignore[arg-type]
        raise UserError(f"search key {self.key!r}: the grid sampler needs `grid: [...]` values for a float range")


def parse_search(raw: Any) -> list[Param]:
    if not isinstance(raw, dict) or not raw:
        raise UserError("the config has no `search:` section, or it is empty", hint="see `neuralab tune --help`")
    params = []
    for key, spec in raw.items():
        if not isinstance(spec, dict) or spec.get("type") not in KINDS:
            raise UserError(f"search key {key!r}: needs `type:` one of {', '.join(KINDS)}")
        unknown = set(spec) - {"type", "low", "high", "log", "step", "choices", "grid"}
        if unknown:
            raise UserError(f"search key {key!r}: unknown field(s) {', '.join(sorted(unknown))}")
        kind = spec["type"]
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise UserError(f"search key {key!r}: categorical needs a non-empty `choices:` list")
            params.append(Param(key, kind, choices=choices))
            continue
        try:
            low, high = float(spec["low"]), float(spec["high"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"search key {key!r}: {kind} needs numeric `low:` and `high:`") from None
        if low >= high or (spec.get("log") and low <= 0):
            raise UserError(f"search key {key!r}: needs low < high (and low > 0 with log: true)")
        params.append(
            Param(key, kind, low, high, bool(spec.get("log", False)), spec.get("step"), grid=spec.get("grid") or [])
        )
    return params


def _encode(value: Any) -> Any:
    return value if isinstance(value, _PRIMITIVE) else json.dumps(value)


def suggest(trial: optuna.Trial, params: list[Param]) -> dict[str, Any]:
    """One value per key, as a nested override dict."""
    tree: dict[str, Any] = {}
    for p in params:
        if p.kind == "categorical":
            encoded = [_encode(c) for c in p.choices]
            picked = trial.suggest_categorical(p.key, encoded)
            value = p.choices[encoded.index(picked)]
        elif p.kind == "int":
            value = trial.suggest_int(p.key, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)  # type: ignore[arg-type]
        else:
            value = trial.suggest_float(p.key, p.low, p.high, log=p.log, step=p.step)  # type: ignore[arg-type]
        set_dotted(tree, p.key, value)
    return tree


def grid_space(params: list[Param]) -> dict[str, list[Any]]:
    return {p.key: [_encode(v) for v in p.grid_values()] for p in params}


def example_overrides(params: list[Param]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for p in params:
        set_dotted(tree, p.key, p.example())
    return tree


__all__ = ["Param", "deep_merge", "example_overrides", "grid_space", "parse_search", "suggest"]
