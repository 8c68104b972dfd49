"""torchvision backbones and the small ViT: built under torchvision's names, adapted inputs, layer groups."""

from __future__ import annotations

import pytest
import torch

from neuralab.errors import UserError
from neuralab.model_contract import named_groups
from neuralab.models import create_model, summarize
from neuralab.models.backbones import BACKBONES, Backbone, load_matching


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0"])
def test_backbones_take_small_grayscale_images_and_cover_every_parameter(name: str) -> None:
    model = create_model(name, (1, 28, 28), 7).eval()
    assert isinstance(model, Backbone) and model.resize == 32
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 7)
    groups = named_groups(model)
    in_groups = {id(p) for group in groups for m in group for p in m.parameters()}
    assert in_groups == {id(p) for p in model.parameters()}  # nothing left out of the optimizer
    assert groups[-1][-1] is model.head and len(groups) >= 4
    assert model.input_normalization[0] == pytest.approx((0.449,), abs=1e-3)


def test_every_listed_backbone_is_registered() -> None:
    from neuralab.models.registry import MODELS

    assert set(BACKBONES) <= set(MODELS.names())
    assert {"resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
            "convnext_tiny"} <= set(BACKBONES)  # fmt: skip


def test_imagenet_weights_offline_give_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: the download would be needed

    def offline(*args, **kwargs):  # the network boundary: this machine has no internet
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    model = create_model("resnet18", (3, 32, 32), 10)
    with pytest.raises(UserError, match="cannot fetch torchvision's ImageNet weights for resnet18") as info:
        model.load_imagenet()
    assert "resnet18-" in str(info.value) and "checkpoints" in str(info.value)


def test_load_matching_copies_names_and_shapes_that_fit() -> None:
    a, b = create_model("fast_cnn", (1, 28, 28), 10), create_model("fast_cnn", (1, 28, 28), 5)
    copied, skipped = load_matching(b, a.state_dict())
    assert skipped == 2 and copied == len(b.state_dict()) - 2  # the head's weight and bias differ in shape
    torch.testing.assert_close(b.features[0].weight, a.features[0].weight)


def test_vit_small_for_28_and_32_pixels() -> None:
    for shape in ((1, 28, 28), (3, 32, 32)):
        model = create_model("vit_small", shape, 10)
        assert model(torch.randn(2, *shape)).shape == (2, 10)
        assert summarize(model, shape).forward_flops > 0
    with pytest.raises(UserError, match="not a multiple"):
        create_model("vit_small", (1, 30, 30), 10)
