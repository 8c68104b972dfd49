"""Class selection and data preparation on scikit-learn's digits."""

from __future__ import annotations

import pytest
import torch

from neuralab.data import DATASETS, LoadOptions
from neuralab.errors import UserError
from neuralab.pipeline import prepare_data, resolve_config
from neuralab.pipeline.prepare import select_classes


def test_select_classes_keeps_and_renumbers_in_the_given_order() -> None:
    data = DATASETS.get("digits").load(LoadOptions())
    before = data.train.targets.clone()
    select_classes(data, ["7", "2"])
    assert data.classes == ["7", "2"]
    assert set(data.train.targets.tolist()) == {0, 1} and set(data.test.targets.tolist()) == {0, 1}
    assert int((data.train.targets == 0).sum()) == int((before == 7).sum())  # every 7 kept, now labelled 0
    assert int((data.train.targets == 1).sum()) == int((before == 2).sum())


@pytest.mark.parametrize("wanted", [["7"], ["7", "x"], ["7", "7"]], ids=["one", "unknown", "duplicate"])
def test_select_classes_refuses_what_cannot_be_a_task(wanted: list[str]) -> None:
    data = DATASETS.get("digits").load(LoadOptions())
    with pytest.raises(UserError, match=r"data\.classes"):
        select_classes(data, wanted)


def test_prepare_splits_stratified_and_seeded() -> None:
    cfg = resolve_config({"data": {"name": "digits", "subset": 500, "val_fraction": 0.2}})
    a, b = prepare_data(cfg), prepare_data(cfg)
    assert len(a.train) == 400 and len(a.val or []) == 100
    assert torch.equal(a.train.targets, b.train.targets)  # the same seed, the same split
    counts = torch.bincount(a.val.targets, minlength=10) if a.val is not None else None
    assert counts is not None and int(counts.min()) >= 9  # every class in validation
