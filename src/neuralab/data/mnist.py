"""MNIST and Fashion-MNIST from their IDX gzip files."""

from __future__ import annotations

import torch

from neuralab.data.idx import read_idx_pair
from neuralab.data.registry import LoadedData, LoadOptions, TensorSamples
from neuralab.data.sources import RemoteFile, locate
from neuralab.data.transforms import Preprocess

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

MNIST_SHA256 = {
    TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_SHA256 = {
    TRAIN_IMAGES: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    TRAIN_LABELS: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    TEST_IMAGES: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    TEST_LABELS: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# Published statistics of the 60k training images (the same for every split of them we use).
MNIST_STATS = ((0.1307,), (0.3081,))
FASHION_STATS = ((0.2860,), (0.3530,))


def _load_idx_dataset(
    name: str, base_url: str, sha256: dict[str, str], classes: list[str], stats: tuple, options: LoadOptions
) -> LoadedData:
    remotes = [RemoteFile(n, base_url + n, digest) for n, digest in sha256.items()]
    paths = locate(name, remotes, options.data_dir, options.download)
    x_train, y_train = read_idx_pair(paths[TRAIN_IMAGES], paths[TRAIN_LABELS], len(classes))
    x_test, y_test = read_idx_pair(paths[TEST_IMAGES], paths[TEST_LABELS], len(classes))
    _, _, height, width = x_train.shape
    return LoadedData(
        train=TensorSamples(torch.from_numpy(x_train.copy()), torch.from_numpy(y_train)),
        test=TensorSamples(torch.from_numpy(x_test.copy()), torch.from_numpy(y_test)),
        classes=classes,
        preprocess=Preprocess(kind="image", input_shape=(1, height, width), mean=stats[0], std=stats[1]),
        source=str(paths[TRAIN_IMAGES].parent),
    )


def load_mnist(options: LoadOptions) -> LoadedData:
    return _load_idx_dataset("mnist", MNIST_URL, MNIST_SHA256, [str(d) for d in range(10)], MNIST_STATS, options)


def load_fashion_mnist(options: LoadOptions) -> LoadedData:
    return _load_idx_dataset("fashion-mnist", FASHION_URL, FASHION_SHA256, FASHION_CLASSES, FASHION_STATS, options)
