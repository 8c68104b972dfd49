"""The second tutorial's grid search over a Keras builder, with GridSearchCV, on scikit-learn's digits."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from neuralab.keras.layers import Dense
from neuralab.keras.models import Sequential
from neuralab.keras.wrappers.scikit_learn import KerasClassifier


def create_model(optimizer: str = "adam", activation: str = "relu", learning_rate: float = 0.001) -> Sequential:
    return Sequential([Dense(32, activation=activation, input_shape=(64,)), Dense(10, activation="softmax")])


def test_the_tutorials_grid_runs_with_gridsearchcv() -> None:
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = (x[:600] / 16).astype("float32")
    model = KerasClassifier(build_fn=create_model, epochs=5, batch_size=32, verbose=0)
    parameters = {"optimizer": ["adam", "rmsprop"], "activation": ["relu", "tanh"], "learning_rate": [0.001, 0.01]}
    grid_search = GridSearchCV(estimator=model, param_grid=parameters, cv=3)
    grid_search.fit(x, y[:600])
    assert len(grid_search.cv_results_["params"]) == 8
    assert grid_search.best_params_["learning_rate"] == 0.01  # 5 epochs: the larger rate wins clearly
    assert grid_search.best_score_ > 0.8
    assert set(np.unique(grid_search.predict(x[:50]))) <= set(range(10))
