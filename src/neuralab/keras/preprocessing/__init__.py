"""Keras's preprocessing: `text.Tokenizer` (Keras's exact semantics) and `sequence.pad_sequences`."""

from neuralab.keras.preprocessing import sequence, text

__all__ = ["sequence", "text"]
