"""The pieces of the Flower apps that need no simulation: the simulated attack and the finiteness check."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("flwr", reason="pip install -e '.[federated]'")

from flwr.app import ArrayRecord, RecordDict

from neuralab.federated.flower import all_finite, gaussian_attack, strategy_class


def test_the_gaussian_attack_keeps_shapes_and_swamps_the_weights() -> None:
    honest = {"w": torch.randn(50, 20, generator=torch.Generator().manual_seed(0)) * 0.01, "steps": torch.tensor(3)}
    poisoned = gaussian_attack(honest, seed=0)
    assert poisoned["w"].shape == honest["w"].shape and torch.equal(poisoned["steps"], honest["steps"])
    assert float(poisoned["w"].std()) > 50 * float(honest["w"].std())  # noise, far larger than the weights
    assert torch.equal(poisoned["w"], gaussian_attack(honest, seed=0)["w"])  # reproducible


def test_a_reply_holding_nan_or_inf_is_not_finite() -> None:
    def reply(value: float) -> RecordDict:
        return RecordDict({"arrays": ArrayRecord({"w": torch.tensor([1.0, value]), "n": torch.tensor([1, 2])})})

    assert all_finite(reply(2.0))
    assert not all_finite(reply(float("nan"))) and not all_finite(reply(float("inf")))


def test_every_strategy_name_is_a_flower_strategy() -> None:
    from flwr.serverapp.strategy import FedMedian, FedTrimmedAvg

    assert strategy_class("fedmedian") is FedMedian and strategy_class("fedtrimmedavg") is FedTrimmedAvg


@pytest.mark.parametrize("name", ["fedavg", "fedmedian"])
def test_a_nan_reply_is_dropped_and_counted_not_averaged_in(name: str) -> None:
    from flwr.app import Message, Metadata, MetricRecord

    from neuralab.federated.flower import RoundLog, finite_replies

    def reply(value: float) -> Message:
        content = RecordDict({"arrays": ArrayRecord({"w": torch.full((4,), value)}),
                              "metrics": MetricRecord({"num-examples": 10})})  # fmt: skip
        metadata = Metadata(run_id=1, message_id="", src_node_id=2, dst_node_id=1, reply_to_message_id="m",
                            group_id="1", created_at=0.0, ttl=3600.0, message_type="train")  # fmt: skip
        return Message(content=content, metadata=metadata)

    log = RoundLog(on_round=lambda *_: None)
    strategy = finite_replies(strategy_class(name), log)(min_train_nodes=1, min_available_nodes=1)
    arrays, _ = strategy.aggregate_train(3, [reply(1.0), reply(float("nan")), reply(3.0)])
    assert torch.allclose(arrays.to_torch_state_dict()["w"], torch.full((4,), 2.0))  # the two finite replies
    assert log.refused == {3: 1}
