"""The report of a self-supervised run: the linear probe's verdict on the learned features."""

from __future__ import annotations

import html
from typing import Any


def ssl_probe_section(summary: dict[str, Any]) -> str:
    """A table: the probe's test accuracy on the features against raw pixels, with all and with few labels."""
    probe = summary["test"]["linear_probe"]
    rows = []
    for key, name in (("all_labels", "all training labels"), ("few_labels", "few labels")):
        row = probe[key]
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{row['train_images']:,}</td><td>{100 * row['features']:.2f}%</td>"
            f"<td>{100 * row['untrained_encoder']:.2f}%</td><td>{100 * row['raw_pixels']:.2f}%</td></tr>"
        )
    return (
        f"<p>Self-supervised pretraining (SimCLR) of {html.escape(summary['model'])} on "
        f"{html.escape(summary['dataset'])} without labels: {summary['train_seconds']:.1f} s, "
        f"{summary['epochs_run']} epochs. The linear probe "
        f"(logistic regression on frozen features) is scored on the {probe['test_images']:,} test images.</p>"
        "<table><tr><th>probe fitted on</th><th>labelled images</th><th>learned features</th>"
        "<th>untrained encoder</th><th>raw pixels</th></tr>" + "".join(rows) + "</table>"
    )
