"""The examples in the docstrings users land on (Trainer, KerasModel, create_model, BatchLoader, the
scikit-learn estimators) run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["neuralab.train.trainer", "neuralab.train.keras_api", "neuralab.models.registry",
           "neuralab.data.loader", "neuralab.sklearn"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
