"""`to_categorical`, as Keras's."""

from __future__ import annotations

import numpy as np


def to_categorical(y: object, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """Integer labels -> one-hot rows (the tutorials' `keras.utils.to_categorical`)."""
    labels = np.asarray(y, dtype=np.int64).reshape(-1)
    count = int(num_classes if num_classes is not None else labels.max() + 1)
    return np.eye(count, dtype=dtype)[labels]
