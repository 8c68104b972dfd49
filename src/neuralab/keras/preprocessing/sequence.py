"""`pad_sequences` with Keras's pre/post padding and truncating semantics."""

from neuralab.data.text import pad_sequences

__all__ = ["pad_sequences"]
