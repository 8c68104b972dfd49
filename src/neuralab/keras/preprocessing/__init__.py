"""Keras's preprocessing: `sequence.pad_sequences` (the text Tokenizer is not here yet)."""

from neuralab.keras.preprocessing import sequence

__all__ = ["sequence"]
