"""Explanations that are right, not only explanations that run.

A synthetic task where the class is decided by a shape at a known box: a trained model's
Grad-CAM must put its mass in that box; the same map from randomised weights must differ
(Adebayo et al.'s model-randomisation check); integrated gradients must be complete.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from neuralab.data.transforms import Preprocess
from neuralab.explain import explain_batch
from neuralab.models import create_model
from neuralab.train.keras_api import KerasModel

SIZE, SHAPE, CLASSES = 32, 8, ["filled", "outline", "plus"]
PRE = Preprocess("image", (1, SIZE, SIZE), (0.1,), (0.2,))


def draw(kind: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    image = rng.integers(0, 70, (SIZE, SIZE)).astype(np.uint8)
    top, left = (int(v) for v in rng.integers(0, SIZE - SHAPE, 2))
    patch = np.zeros((SHAPE, SHAPE), bool)
    if kind == 0:
        patch[:] = True
    elif kind == 1:
        patch[[0, 1, -2, -1], :] = True
        patch[:, [0, 1, -2, -1]] = True
    else:
        patch[SHAPE // 2 - 1 : SHAPE // 2 + 1, :] = True
        patch[:, SHAPE // 2 - 1 : SHAPE // 2 + 1] = True
    image[top : top + SHAPE, left : left + SHAPE][patch] = 255
    return image, (top, left)


def dataset(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), n)
    drawn = [draw(int(k), rng) for k in labels]
    images = torch.from_numpy(np.stack([img for img, _ in drawn])[:, None])
    return images, torch.from_numpy(labels), [pos for _, pos in drawn]


@pytest.fixture(scope="module")
def trained() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
    torch.manual_seed(0)
    x, y, _ = dataset(2400, seed=1)
    model = create_model("simple_cnn", (1, SIZE, SIZE), len(CLASSES))
    keras = KerasModel(model)
    keras.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras.fit(PRE.normalize(x).numpy(), y.numpy(), epochs=5, batch_size=64)
    x_test, y_test, boxes = dataset(60, seed=2)
    return model.eval(), x_test, y_test, boxes


def box_mask(top: int, left: int, margin: int = 2) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    mask[max(0, top - margin) : top + SHAPE + margin, max(0, left - margin) : left + SHAPE + margin] = True
    return mask


def mass_in_box(heats: list[np.ndarray], boxes: list[tuple[int, int]]) -> float:
    return float(np.mean([h[box_mask(*b)].sum() / max(h.sum(), 1e-12) for h, b in zip(heats, boxes, strict=True)]))


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_cam_mass_falls_inside_the_deciding_shape(trained, method: str) -> None:
    model, x, y, boxes = trained
    explanations = explain_batch(model, PRE, x, CLASSES, method)
    accuracy = np.mean([e.predicted == int(t) for e, t in zip(explanations, y, strict=True)])
    assert accuracy > 0.9  # the model really learned the task
    box_area = box_mask(10, 10).mean()
    mass = mass_in_box([e.heat for e in explanations], boxes)
    assert mass > 0.5 and mass > 3 * box_area, (mass, box_area)  # "most of the mass", in 14% of the image


@pytest.mark.parametrize("method", ["integrated-gradients", "occlusion"])
def test_attribution_mass_also_falls_inside_the_shape(trained, method: str) -> None:
    model, x, _, boxes = trained
    explanations = explain_batch(model, PRE, x[:8], CLASSES, method)
    assert mass_in_box([e.heat for e in explanations], boxes[:8]) > 0.5


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho; a constant map (a dead random model) shares no ranking with anything."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(spearmanr(a.ravel(), b.ravel()).statistic)


def test_randomising_the_weights_changes_the_map(trained) -> None:
    model, x, _, boxes = trained
    torch.manual_seed(123)
    random_model = create_model("simple_cnn", (1, SIZE, SIZE), len(CLASSES)).eval()
    trained_maps = explain_batch(model, PRE, x, CLASSES, "gradcam")
    random_maps = explain_batch(random_model, PRE, x, CLASSES, "gradcam", target=0)
    trained_maps_0 = explain_batch(model, PRE, x, CLASSES, "gradcam", target=0)
    rank = [rank_correlation(a.heat, b.heat) for a, b in zip(trained_maps_0, random_maps, strict=True)]
    assert np.mean(rank) < 0.5, np.mean(rank)
    assert mass_in_box([e.heat for e in random_maps], boxes) < mass_in_box([e.heat for e in trained_maps], boxes) - 0.2


def test_integrated_gradients_are_complete(trained) -> None:
    model, x, _, _ = trained
    explanations = explain_batch(model, PRE, x[:10], CLASSES, "integrated-gradients")
    with torch.no_grad():
        at_input = model(PRE.normalize(x[:10]))
        at_black = model(PRE.normalize(torch.zeros_like(x[:10])))
    for i, exp in enumerate(explanations):
        expected = float(at_input[i, exp.target] - at_black[i, exp.target])
        assert exp.attributions.sum() == pytest.approx(expected, abs=0.02 * abs(expected) + 1e-3)
        assert exp.completeness_gap is not None and exp.completeness_gap < 0.02 * abs(expected) + 1e-3
