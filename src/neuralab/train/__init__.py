"""The training engine: device handling, optimizers, schedules, callbacks and the Trainer."""

from neuralab.train.device import Device
from neuralab.train.optim import build_optimizer
from neuralab.train.schedules import LRController, make_schedule
from neuralab.train.state import TrainState, load_checkpoint, save_checkpoint
from neuralab.train.trainer import Evaluation, Trainer, TrainingDiverged, TrainingInterrupted

__all__ = [
    "Device",
    "Evaluation",
    "KerasModel",
    "LRController",
    "TrainState",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "build_optimizer",
    "load_checkpoint",
    "make_schedule",
    "save_checkpoint",
]


def __getattr__(name: str) -> object:
    """`KerasModel` loads on first use: it pulls in the data layer, which `import neuralab.train` must not."""
    if name == "KerasModel":
        from neuralab.train.keras_api import KerasModel

        return KerasModel
    raise AttributeError(f"module 'neuralab.train' has no attribute {name!r}")
