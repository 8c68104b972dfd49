"""Test-time flip averaging: part of the model's eval forward, so every consumer sees one model."""

from __future__ import annotations

import threading

import pytest
import torch

from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError
from neuralab.explain import explain_batch
from neuralab.model_contract import single_view, tta_enabled
from neuralab.models import create_model


def pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    """The same weights with and without flip averaging."""
    torch.manual_seed(0)
    plain = create_model("fast_cnn", (1, 28, 28), 10).eval()
    flipped = create_model("fast_cnn", (1, 28, 28), 10, tta="flip").eval()
    flipped.load_state_dict(plain.state_dict())
    return plain, flipped


def test_eval_logits_are_the_mean_over_the_image_and_its_mirror() -> None:
    plain, flipped = pair()
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        want = (plain(x) + plain(x.flip(-1))) / 2
        got = flipped(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got, flipped(x.flip(-1)), rtol=1e-5, atol=1e-5)  # mirror-invariant by construction


def test_flip_shift_averages_the_mirror_pair_with_the_shifted_pairs() -> None:
    torch.manual_seed(0)
    plain = create_model("fast_cnn", (1, 28, 28), 10).eval()
    shifted = create_model("fast_cnn", (1, 28, 28), 10, tta="flip_shift").eval()
    shifted.load_state_dict(plain.state_dict())
    x = torch.randn(3, 1, 28, 28)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    up_left, down_right = padded[..., :28, :28], padded[..., 2:, 2:]
    with torch.no_grad():
        mirror_pair = (plain(x) + plain(x.flip(-1))) / 2
        shifted_pairs = sum(plain(v) + plain(v.flip(-1)) for v in (up_left, down_right)) / 4
        torch.testing.assert_close(shifted(x), (mirror_pair + shifted_pairs) / 2, rtol=1e-5, atol=1e-5)
        with single_view(shifted):
            torch.testing.assert_close(shifted(x), plain(x))


def test_training_forward_and_single_view_are_one_pass() -> None:
    plain, flipped = pair()
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad(), single_view(flipped):
        torch.testing.assert_close(flipped(x), plain(x))
    flipped.train(), plain.train()
    torch.manual_seed(1)
    with torch.no_grad():
        torch.testing.assert_close(flipped(x), plain(x))  # BatchNorm in train mode: same batch, same output


def test_single_view_is_per_thread() -> None:
    """A server shares one model among threads: an explanation on one must not change another's answers."""
    seen: list[bool] = []
    inside, release = threading.Event(), threading.Event()

    def explainer() -> None:
        with single_view(torch.nn.Identity()):
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=explainer)
    thread.start()
    inside.wait(5)
    seen.append(tta_enabled())
    release.set()
    thread.join()
    assert seen == [True] and tta_enabled()


def test_gradcam_explains_one_view() -> None:
    plain, flipped = pair()
    preprocess = Preprocess(kind="image", input_shape=(1, 28, 28), mean=(0.5,), std=(0.5,))
    raw = (torch.rand(2, 1, 28, 28) * 255).to(torch.uint8)
    classes = [str(i) for i in range(10)]
    a = explain_batch(plain, preprocess, raw, classes, "gradcam", target=3)
    b = explain_batch(flipped, preprocess, raw, classes, "gradcam", target=3)
    for one, two in zip(a, b, strict=True):
        assert one.layer == two.layer
        torch.testing.assert_close(torch.from_numpy(one.heat), torch.from_numpy(two.heat))
    assert tta_enabled()


def test_unknown_tta_is_refused() -> None:
    with pytest.raises(UserError, match="tta is none, flip, flip_shift"):
        create_model("fast_cnn", (1, 28, 28), 10, tta="rotate")
