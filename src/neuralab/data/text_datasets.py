"""Labelled text datasets: any CSV, and two real corpora from Debian's fortune packages.

fortunes-en: English quotations by topic (package `fortunes`); fortunes-zh: Chinese sayings by
the classic they come from, 谚语 / 论语 / 菜根谭 / 增广贤文 (package `fortunes-zh`). The
attribution line is removed from each text, since it names the label.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from neuralab.data.registry import LoadedData, LoadOptions
from neuralab.data.text import TextSamples, read_text_csv
from neuralab.data.transforms import Preprocess
from neuralab.errors import UserError

TEST_FRACTION = 0.2
FORTUNE_DIR = Path("/usr/share/games/fortunes")
EN_TOPICS = ["computers", "men-women", "politics", "science", "work"]
ZH_SOURCES = ["谚语", "论语", "菜根谭", "增广贤文"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def text_preprocess() -> Preprocess:
    """A placeholder: the pipeline fits the tokenizer on the training split and fills it in."""
    return Preprocess(kind="text", input_shape=(0,), mean=(), std=(), scale=1.0)


def split_texts(texts: list[str], labels: list[str], classes: list[str] | None = None,
                test: tuple[list[str], list[str]] | None = None) -> LoadedData:  # fmt: skip
    classes = classes or sorted(set(labels))
    index = {name: i for i, name in enumerate(classes)}
    y = np.asarray([index[v] for v in labels], dtype=np.int64)
    if test is not None:
        unknown = sorted(set(test[1]) - set(classes))
        if unknown:
            raise UserError(f"test labels {unknown} never appear in the training file")
        x_train, y_train = texts, y
        x_test, y_test = test[0], np.asarray([index[v] for v in test[1]], dtype=np.int64)
    else:
        counts = np.bincount(y, minlength=len(classes))
        stratify = y if counts.min() >= 2 else None
        x_train, x_test, y_train, y_test = train_test_split(
            texts, y, test_size=TEST_FRACTION, stratify=stratify, random_state=0
        )
    return LoadedData(
        train=TextSamples(list(x_train), torch.from_numpy(np.asarray(y_train))),
        test=TextSamples(list(x_test), torch.from_numpy(np.asarray(y_test))),
        classes=classes,
        preprocess=text_preprocess(),
        source="",
    )


def load_csv_text(options: LoadOptions) -> LoadedData:
    if options.file is None:
        raise UserError("dataset csv-text needs a file: --data train.csv (data.file)")
    path = Path(options.file).expanduser()
    texts, labels = read_text_csv(path, options.text_column, options.target_column)
    test = None
    if options.test_file is not None:
        test = read_text_csv(Path(options.test_file).expanduser(), options.text_column, options.target_column)
    data = split_texts(texts, labels, test=test)
    data.source = str(path)
    return data


def read_fortunes(path: Path) -> list[str]:
    """A strfile source: entries separated by lines holding only '%', ANSI colour codes removed."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} is missing") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 ({err.reason})") from None
    return [e.strip() for e in _ANSI.sub("", raw).split("\n%\n") if e.strip()]


def _fortune_dir(options: LoadOptions, package: str, probe: str) -> Path:
    for folder in (options.data_dir, FORTUNE_DIR):
        if folder is not None and (Path(folder) / probe).is_file():
            return Path(folder)
    raise UserError(f"the fortune file {probe!r} was not found",
                    hint=f"install Debian's package: apt-get install {package} (or give --data-dir)")  # fmt: skip


def load_fortunes_en(options: LoadOptions) -> LoadedData:
    folder = _fortune_dir(options, "fortunes", EN_TOPICS[0])
    texts, labels = [], []
    for topic in EN_TOPICS:
        entries = read_fortunes(folder / topic)
        texts += entries
        labels += [topic] * len(entries)
    data = split_texts(texts, labels, EN_TOPICS)
    data.source = f"{folder} ({', '.join(EN_TOPICS)}; Debian package fortunes)"
    return data


_ATTRIBUTION = re.compile(r"\n\s*--\s*(.*)$", re.S)


def zh_source(entry: str) -> tuple[str, str | None]:
    """(text without its attribution line, the classic it names, if one of ZH_SOURCES)."""
    match = _ATTRIBUTION.search(entry)
    if not match:
        return entry, None
    attribution = match.group(1)
    books = re.findall(r"《([^》]+)》", attribution)
    name = books[0] if books else attribution.split("，")[0].strip()
    return entry[: match.start()].strip(), name if name in ZH_SOURCES else None


def load_fortunes_zh(options: LoadOptions) -> LoadedData:
    folder = _fortune_dir(options, "fortunes-zh", "chinese")
    texts, labels = [], []
    for entry in read_fortunes(folder / "chinese"):
        text, source = zh_source(entry)
        if source is not None and text:
            texts.append(text)
            labels.append(source)
    data = split_texts(texts, labels, ZH_SOURCES)
    data.source = f"{folder / 'chinese'} (sayings by source; Debian package fortunes-zh)"
    return data
