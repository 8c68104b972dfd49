"""A finding: what was seen, where, the evidence, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    kind: str  # vanishing_gradients, exploding_gradients, dead_relu, overfitting, class_imbalance, diverged
    where: str  # a layer name, "training", "labels"
    evidence: str
    remedies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        return cls(raw["kind"], raw["where"], raw["evidence"], list(raw.get("remedies", [])))

    def __str__(self) -> str:
        fixes = "".join(f"\n    - {r}" for r in self.remedies)
        return f"[{self.kind}] {self.where}: {self.evidence}{fixes}"
