"""neuralab: a deep-learning workbench on PyTorch.

Names load lazily (PEP 562), so `import neuralab.scratch` never pulls in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "KerasModel": "neuralab.train.keras_api",
    "Trainer": "neuralab.train.trainer",
    "create_model": "neuralab.models.registry",
    "UserError": "neuralab.errors",
}


def __getattr__(name: str) -> Any:
    if name == "keras":  # `import neuralab as tf` then `tf.keras.layers.Dense`, as the tutorials write it
        return importlib.import_module("neuralab.keras")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neuralab' has no attribute {name!r}")


__all__ = ["KerasModel", "Trainer", "UserError", "__version__", "create_model", "keras"]
