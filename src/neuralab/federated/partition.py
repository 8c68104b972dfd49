"""How a training set is divided among federated clients: IID shards or Dirichlet label skew.

Dirichlet(alpha) per class is the standard way to simulate clients whose label mixes differ (Hsu et
al. 2019): small alpha (0.1) gives each client a few dominant classes, large alpha approaches IID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from neuralab.errors import UserError


@dataclass(frozen=True)
class PartitionScheme:
    kind: str  # "iid" or "dirichlet"
    alpha: float = 0.0

    @classmethod
    def parse(cls, text: str) -> PartitionScheme:
        """`iid` or `dirichlet:ALPHA` (ALPHA > 0)."""
        if text == "iid":
            return cls("iid")
        match = re.fullmatch(r"dirichlet:([0-9.eE+-]+)", text)
        alpha = _float(match.group(1)) if match else None
        if alpha is None or not alpha > 0 or not np.isfinite(alpha):
            raise UserError(f"--partition {text!r} is not a partition scheme",
                            hint="use iid or dirichlet:ALPHA with ALPHA > 0, e.g. dirichlet:0.1")  # fmt: skip
        return cls("dirichlet", alpha)

    def __str__(self) -> str:
        return "iid" if self.kind == "iid" else f"dirichlet:{self.alpha:g}"


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def partition(labels: np.ndarray, clients: int, scheme: PartitionScheme, seed: int) -> list[np.ndarray]:
    """Disjoint index arrays, one per client, covering every example; no client is left empty."""
    labels = np.asarray(labels)
    if clients < 1:
        raise UserError(f"--clients must be at least 1, not {clients}")
    if clients > len(labels):
        raise UserError(f"{clients} clients cannot share {len(labels)} training examples")
    rng = np.random.default_rng(seed)
    if scheme.kind == "iid":
        return [np.sort(part) for part in np.array_split(rng.permutation(len(labels)), clients)]
    return _dirichlet(labels, clients, scheme.alpha, rng)


def _dirichlet(labels: np.ndarray, clients: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Each class's examples are dealt to clients in Dirichlet(alpha) proportions; redrawn until none is empty."""
    for _ in range(100):
        shards: list[list[int]] = [[] for _ in range(clients)]
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            shares = rng.dirichlet(np.full(clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(members)).astype(int)
            for client, part in enumerate(np.split(members, cuts)):
                shards[client].extend(part.tolist())
        if min(len(s) for s in shards) > 0:
            return [np.sort(np.asarray(s, dtype=np.int64)) for s in shards]
    raise UserError(f"a Dirichlet({alpha:g}) split left a client without data 100 times",
                    hint="use fewer clients or a larger alpha")  # fmt: skip


def label_skew(labels: np.ndarray, parts: list[np.ndarray], num_classes: int) -> float:
    """Mean total-variation distance between each client's label mix and the whole set's (0 = IID, 1 = disjoint)."""
    overall = np.bincount(labels, minlength=num_classes) / len(labels)
    distances = []
    for part in parts:
        mix = np.bincount(labels[part], minlength=num_classes) / max(len(part), 1)
        distances.append(0.5 * np.abs(mix - overall).sum())
    return float(np.mean(distances))
