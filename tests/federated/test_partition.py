"""Client shards: disjoint, complete, and as skewed as the scheme says."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.errors import UserError
from neuralab.federated.partition import PartitionScheme, label_skew, partition

LABELS = np.repeat(np.arange(10), 60)


@pytest.mark.parametrize("scheme", ["iid", "dirichlet:0.1", "dirichlet:1", "dirichlet:100"])
def test_shards_are_disjoint_and_cover_every_example(scheme: str) -> None:
    parts = partition(LABELS, 4, PartitionScheme.parse(scheme), seed=0)
    joined = np.concatenate(parts)
    assert len(parts) == 4 and all(len(p) > 0 for p in parts)
    assert sorted(joined.tolist()) == list(range(len(LABELS)))


def test_same_seed_same_shards_other_seed_other_shards() -> None:
    scheme = PartitionScheme.parse("dirichlet:0.5")
    first, again, other = (partition(LABELS, 4, scheme, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_small_alpha_skews_labels_and_iid_does_not() -> None:
    skews = {
        scheme: np.mean(
            [label_skew(LABELS, partition(LABELS, 4, PartitionScheme.parse(scheme), s), 10) for s in range(5)]
        )
        for scheme in ("iid", "dirichlet:100", "dirichlet:0.1")
    }
    assert skews["iid"] < 0.1
    assert skews["dirichlet:100"] < 0.15
    assert skews["dirichlet:0.1"] > 0.5


@pytest.mark.parametrize(
    "text", ["dirichlet", "dirichlet:0", "dirichlet:-1", "dirichlet:abc", "shards", "dirichlet:nan"]
)
def test_a_bad_scheme_is_named(text: str) -> None:
    with pytest.raises(UserError, match="partition"):
        PartitionScheme.parse(text)


def test_more_clients_than_examples_is_refused() -> None:
    with pytest.raises(UserError, match="cannot share"):
        partition(np.arange(3), 4, PartitionScheme("iid"), seed=0)
