"""Every Keras snippet of the two tutorials runs on neuralab with only its import lines changed.

The snippets are in tests/keras/tutorial_snippets/, copied verbatim from ../shared/seeds (each file
says where from and what changed), and run as scripts in a subprocess, as a reader would run them.
`mnist.load_data()` reads a small local MNIST (sklearn's digits drawn at 28x28) from $NEURALAB_DATA.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

SNIPPETS = Path(__file__).parent / "tutorial_snippets"


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MNIST's four IDX files, holding sklearn's 1,797 digits upscaled to 28x28 (1,400 train, 397 test)."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "mnist"
    folder.mkdir()
    digits = load_digits()
    big = np.stack([
        np.asarray(Image.fromarray((img * 255 / 16).astype(np.uint8)).resize((20, 20), Image.BILINEAR))
        for img in digits.images
    ])  # fmt: skip
    images = np.zeros((len(big), 28, 28), np.uint8)
    images[:, 4:24, 4:24] = big  # MNIST's layout: a 20x20 digit centred in 28x28
    files = {
        "train-images-idx3-ubyte.gz": images[:1400],
        "train-labels-idx1-ubyte.gz": digits.target[:1400],
        "t10k-images-idx3-ubyte.gz": images[1400:],
        "t10k-labels-idx1-ubyte.gz": digits.target[1400:],
    }
    for name, data in files.items():
        _write_idx(folder / name, data)
    return root


def run_snippet(name: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, str(SNIPPETS / name)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env}, cwd=SNIPPETS)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_first_tutorials_mnist_cnn(small_mnist: Path) -> None:
    result = run_snippet("seed1_mnist_cnn.py", {"NEURALAB_DATA": str(small_mnist)})
    assert result["params"] == 34_826  # Keras's count for this model at 28x28 (93,322 is the second tutorial's)
    assert float(result["test_accuracy"]) > 0.8  # type: ignore[arg-type]


def test_second_tutorials_keras_cnn(small_mnist: Path) -> None:
    result = run_snippet("seed0_keras_cnn.py", {"NEURALAB_DATA": str(small_mnist)})
    assert result["params"] == 93_322  # the figure Keras's model.summary() prints for it
    assert result["keys"] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert float(result["test_accuracy"]) > 0.7  # type: ignore[arg-type]


def test_first_tutorials_text_model_with_frozen_pretrained_vectors(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    topics = [
        ["goal", "match", "team", "score", "coach", "league"],
        ["flour", "oven", "bake", "sugar", "dough", "recipe"],
    ]
    filler = ["the", "a", "today", "we", "saw", "very", "good", "and"]
    texts, labels = [], []
    # The tutorial's code sets no seed, so each run draws its own init: 480 texts (15 steps an epoch) make
    # every draw converge (30 runs: min 0.996); 240 left a tail (CI once saw 0.8875, 12 local runs 0.946-0.983).
    for i in range(480):
        words = list(rng.choice(topics[i % 2], 3)) + list(rng.choice(filler, 5))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(i % 2)
    dim = 16
    vocab = sorted({w for t in texts for w in t.split()})
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=dim)) + "\n" for w in vocab))
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps({"texts": texts, "labels": labels, "vectors": str(vectors), "embedding_dim": dim}))
    result = run_snippet("seed1_text_pretrained.py", {"SNIPPET_TEXTS": str(corpus)})
    assert result["embedding_unchanged"] is True  # trainable=False kept the pretrained matrix
    assert float(result["accuracy"]) > 0.9  # type: ignore[arg-type]


def test_first_tutorials_grid_search() -> None:
    result = run_snippet("seed1_grid_search.py", {})
    assert result["candidates"] == 8
    assert set(result["best_params"]) == {"optimizer", "activation", "learning_rate"}  # type: ignore[arg-type]
