"""Hyperparameter search on Optuna: define-by-run spaces, pruning on validation metrics, persistent studies."""

from neuralab.tune.runner import TuneResult, run_tune
from neuralab.tune.space import Param, parse_search

__all__ = ["Param", "TuneResult", "parse_search", "run_tune"]
