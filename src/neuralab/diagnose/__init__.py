"""Finding the common problems in training (gradients, overfitting, imbalance) and naming the fix."""

from neuralab.diagnose.findings import Finding
from neuralab.diagnose.grad_health import GradientMonitor, analyze
from neuralab.diagnose.imbalance import balanced_class_weights, imbalance_ratio, resolve_balance
from neuralab.diagnose.lr_find import LRFindResult, lr_range_test
from neuralab.diagnose.overfit import analyze_history

__all__ = [
    "Finding",
    "GradientMonitor",
    "LRFindResult",
    "analyze",
    "analyze_history",
    "balanced_class_weights",
    "imbalance_ratio",
    "lr_range_test",
    "resolve_balance",
]
