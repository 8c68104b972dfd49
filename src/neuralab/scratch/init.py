"""Weight initialisers: the scale that keeps activations from shrinking or exploding layer by layer."""

from __future__ import annotations

import numpy as np


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: type = np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): variance 2 / (fan_in + fan_out), for tanh and sigmoid."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype)


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: type = np.float64) -> np.ndarray:
    """He et al. (2015): variance 2 / fan_in, for ReLU (which zeroes half its inputs)."""
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype)


INITIALIZERS = {"xavier": xavier_uniform, "he": he_normal}
