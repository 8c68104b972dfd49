"""Training callbacks with Keras's hook names and semantics."""

from neuralab.train.callbacks.base import Callback, CallbackList
from neuralab.train.callbacks.checkpoint import BestWeights, ResumeCheckpoint
from neuralab.train.callbacks.csv_logger import CSVLogger
from neuralab.train.callbacks.early_stopping import EarlyStopping
from neuralab.train.callbacks.history import History
from neuralab.train.callbacks.monitor import MetricWatcher
from neuralab.train.callbacks.progress import ProgressLogger
from neuralab.train.callbacks.reduce_lr import ReduceLROnPlateau

__all__ = [
    "BestWeights",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "MetricWatcher",
    "ProgressLogger",
    "ReduceLROnPlateau",
    "ResumeCheckpoint",
]
