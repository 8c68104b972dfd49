"""Keras's `load_data()` over neuralab's data layer: local files first ($NEURALAB_DATA, Debian's
/usr/share/datasets), then the official URL with a sha256 check; NumPy arrays in Keras's layout."""

from __future__ import annotations

import numpy as np

from neuralab.data import DATASETS, LoadOptions, TensorSamples

Split = tuple[np.ndarray, np.ndarray]


def load_keras_layout(name: str, labels_2d: bool = False) -> tuple[Split, Split]:
    """uint8 images [N, H, W] (grayscale) or [N, H, W, 3], and integer labels."""
    data = DATASETS.get(name).load(LoadOptions())

    def arrays(samples: object) -> Split:
        assert isinstance(samples, TensorSamples)
        x = samples.x.permute(0, 2, 3, 1).numpy()
        x = x[..., 0] if x.shape[-1] == 1 else x
        y = samples.targets.numpy().astype(np.uint8)
        return np.ascontiguousarray(x), (y[:, None] if labels_2d else y)

    return arrays(data.train), arrays(data.test)
