"""Why a regression predicted a value: each column's share of the prediction, by integrated gradients.

The baseline is the row the encoder maps to zero: every numeric column at its training mean and no
category. Integrated gradients is complete (the shares add up to prediction - baseline prediction), so
the explanation accounts for the whole prediction. One-hot columns are summed back to their column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from neuralab.data.table import TableEncoder, TargetScaler
from neuralab.explain.attributions import integrated_gradients


@dataclass
class RowExplanation:
    row: dict[str, Any]
    target: str
    prediction: float
    baseline: float
    contributions: dict[str, float]  # column -> share of (prediction - baseline), in the target's units
    gap: float  # |sum(contributions) - (prediction - baseline)|, in the target's units

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


def explain_rows(
    model: nn.Module, encoder: TableEncoder, scaler: TargetScaler, records: list[dict[str, Any]], output: int = 0
) -> list[RowExplanation]:
    encoded = torch.from_numpy(encoder.encode(encoder.rows_from_records(records)).features)
    baseline = torch.zeros_like(encoded)
    target = torch.full((len(encoded),), output, dtype=torch.long)
    model = model.eval()
    attributions, gap = integrated_gradients(model, encoded, target, baseline)
    with torch.no_grad():
        outputs, base_out = model(encoded)[:, output].double(), model(baseline)[:, output].double()
    scale, shift = scaler.std[output], scaler.mean[output]
    spans, at = [], 0
    for column in encoder.columns:
        spans.append((column.name, at, at + column.width))
        at += column.width
    explanations = []
    for i, record in enumerate(records):
        shares = {name: float(attributions[i, a:b].sum()) * scale for name, a, b in spans}
        explanations.append(RowExplanation(
            row=dict(record), target=scaler.names[output], prediction=float(outputs[i]) * scale + shift,
            baseline=float(base_out[i]) * scale + shift, contributions=shares, gap=float(gap[i]) * scale,
        ))  # fmt: skip
    return explanations
