"""Classification and regression metrics from scikit-learn, in one dict that summary.json and reports share."""

from __future__ import annotations

from typing import Any

import numpy as np

# scikit-learn is imported inside each function: `import neuralab.train` must stay light.


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score

    """Mean per-class recall: the accuracy that a majority class cannot inflate."""
    return float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else 0.0


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> dict[str, Any]:
    """RMSE, MAE and R² in the target's units (averaged over outputs), and per output when there are several."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true, y_pred = np.asarray(y_true).reshape(len(y_true), -1), np.asarray(y_pred).reshape(len(y_pred), -1)
    if len(y_true) == 0:
        return {"rmse": float("nan"), "mae": float("nan"), "r2": float("nan")}
    per_output = {
        name: {
            "rmse": float(np.sqrt(mean_squared_error(y_true[:, i], y_pred[:, i]))),
            "mae": float(mean_absolute_error(y_true[:, i], y_pred[:, i])),
            "r2": float(r2_score(y_true[:, i], y_pred[:, i])) if len(y_true) > 1 else float("nan"),
        }
        for i, name in enumerate(names)
    }
    metrics: dict[str, Any] = {
        key: float(np.mean([m[key] for m in per_output.values()])) for key in ("rmse", "mae", "r2")
    }
    if len(names) > 1:
        metrics["per_output"] = per_output
    return metrics
