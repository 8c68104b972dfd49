"""Class selection and data preparation on scikit-learn's digits."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["pos"] * 60, "has one class ('pos'): a classifier needs at least two"),
        ([f"review-{i}" for i in range(60)], "60 of its 60 classes have at most one training example"),
    ],
    ids=["one-label", "an-identifier-column"],
)
def test_labels_a_classifier_cannot_learn_from_are_refused(tmp_path: Path, labels: list[str], message: str) -> None:
    rows = "".join(f"good film number {i},{label}\n" for i, label in enumerate(labels))
    (tmp_path / "reviews.csv").write_text("text,label\n" + rows, encoding="utf-8")
    cfg = resolve_config({"data": {"name": "csv-text", "file": str(tmp_path / "reviews.csv")}})
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare_data(cfg)
    few = "".join(f"film {i},{['pos', 'neg', 'meh'][i % 3]}\n" for i in range(60))  # three real classes: fine
    (tmp_path / "reviews.csv").write_text("text,label\n" + few, encoding="utf-8")
    assert len(prepare_data(cfg).data.classes) == 3
