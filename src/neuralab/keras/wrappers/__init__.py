"""Keras's scikit-learn wrappers (`wrappers.scikit_learn.KerasClassifier`)."""

from neuralab.keras.wrappers import scikit_learn

__all__ = ["scikit_learn"]
