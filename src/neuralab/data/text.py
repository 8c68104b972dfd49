"""Text to token ids: a Tokenizer fitted on the training split, Keras's pad_sequences, CSV text data.

Space-separated languages are split into words; Chinese and Japanese (no spaces) into characters
plus adjacent-character bigrams, which carry most of a word segmenter's benefit with none of its
dictionary. The level is chosen from the script of the training texts unless given.
Id 0 is padding and id 1 the out-of-vocabulary token, as in Keras.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch

from neuralab.errors import UserError, require_file

Level = Literal["auto", "word", "char", "char-bigram"]
PAD, OOV = 0, 1
# Han, kana, CJK punctuation-free ideographs (Hangul is left out: Korean separates words with spaces).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_PIECES = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+(?:'[^\W{_CJK}]+)*|[^\w\s]", re.UNICODE)


def detect_level(texts: Iterable[str], sample: int = 2000) -> Literal["word", "char-bigram"]:
    """char-bigram when more than a quarter of the letters are Chinese/Japanese, else word."""
    cjk = letters = 0
    for i, text in enumerate(texts):
        if i >= sample:
            break
        for ch in text:
            if ch.isalnum():
                letters += 1
                cjk += bool(_CJK_CHAR.match(ch))
    return "char-bigram" if letters and cjk / letters > 0.25 else "word"


def _runs(units: list[str]) -> Iterator[list[str]]:
    """Split units into runs of single characters; a word or a break ("") ends a run."""
    run: list[str] = []
    for unit in units:
        if len(unit) == 1:
            run.append(unit)
            continue
        if run:
            yield run
        run = []
        if unit:
            yield [unit]
    if run:
        yield run


@dataclass
class Tokenizer:
    """Keras-like: `fit` on training texts, then `texts_to_sequences`; serialisable to JSON."""

    level: Level = "auto"
    num_words: int | None = 20000
    min_freq: int = 1
    lower: bool = True
    keep_punctuation: bool = False
    word_index: dict[str, int] = field(default_factory=dict)
    ngrams: int = 1  # word level: also emit word n-grams up to this order (fastText's trick)

    def tokens(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text)
        if self.lower:
            text = text.lower()
        units: list[str] = []  # "" marks a break: dropped punctuation, or a Latin word inside CJK text
        for piece in _PIECES.findall(text):
            if _CJK_CHAR.match(piece):
                units.extend([piece] if self.level == "word" else piece)
            elif piece[0].isalnum() or piece[0] == "_":
                units.extend(["", piece, ""])
            else:
                units.append(piece if self.keep_punctuation else "")
        out: list[str] = []
        for run in _runs(units):
            out.extend(run)
            if self.level == "char-bigram":  # adjacent characters, across kept punctuation too ("，不" is style)
                out.extend(a + b for a, b in itertools.pairwise(run) if _CJK_CHAR.match(a) or _CJK_CHAR.match(b))
        if self.ngrams > 1 and self.level == "word":
            words = list(out)
            for n in range(2, self.ngrams + 1):
                out.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return out

    def fit(self, texts: Sequence[str]) -> Tokenizer:
        if self.level == "auto":
            self.level = detect_level(texts)
        counts = Counter(tok for text in texts for tok in self.tokens(text))
        ranked = sorted((t for t, c in counts.items() if c >= self.min_freq), key=lambda t: (-counts[t], t))
        if self.num_words is not None:
            ranked = ranked[: max(0, self.num_words - 2)]
        self.word_index = {tok: i + 2 for i, tok in enumerate(ranked)}
        if not self.word_index:
            raise UserError("the training texts gave an empty vocabulary", hint="check the text column and min_freq")
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.word_index) + 2

    def texts_to_sequences(self, texts: Iterable[str]) -> list[list[int]]:
        if not self.word_index:
            raise UserError("the tokenizer has not been fitted")
        return [[self.word_index.get(tok, OOV) for tok in self.tokens(text)] for text in texts]

    def coverage(self, texts: Sequence[str]) -> float:
        """Share of tokens in `texts` that the vocabulary knows (the rest become OOV)."""
        seqs = self.texts_to_sequences(texts)
        total = sum(len(s) for s in seqs)
        return sum(1 for s in seqs for i in s if i != OOV) / max(total, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level, "num_words": self.num_words, "min_freq": self.min_freq, "lower": self.lower,
            "keep_punctuation": self.keep_punctuation, "word_index": self.word_index, "ngrams": self.ngrams,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Tokenizer:
        """The tokenizer model.json records, checked (ValueError names the field): every id a whole number
        past the reserved padding and out-of-vocabulary ids."""
        word_index = raw["word_index"]
        if not isinstance(word_index, dict) or not all(
            isinstance(k, str) and type(v) is int and v > OOV for k, v in word_index.items()
        ):
            raise ValueError(f"`tokenizer.word_index` must map tokens to whole numbers above {OOV}")
        if raw["level"] not in get_args(Level):
            raise ValueError(f"`tokenizer.level` must be one of {', '.join(get_args(Level))}")
        return cls(raw["level"], raw.get("num_words"), int(raw.get("min_freq", 1)), bool(raw.get("lower", True)),
                   bool(raw.get("keep_punctuation", False)), dict(word_index),
                   int(raw.get("ngrams", 1)))  # fmt: skip

    @property
    def largest_id(self) -> int:
        return max(self.word_index.values(), default=OOV)


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    maxlen: int | None = None,
    padding: Literal["pre", "post"] = "pre",
    truncating: Literal["pre", "post"] = "pre",
    value: int = PAD,
    dtype: Any = np.int64,
) -> np.ndarray:
    """Keras's pad_sequences: [N, maxlen], padding and truncating at the start ("pre") or end ("post")."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError("padding and truncating must be 'pre' or 'post'")
    length = maxlen if maxlen is not None else max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), length), value, dtype=dtype)
    for row, seq in enumerate(sequences):
        if not len(seq) or not length:
            continue
        trunc = list(seq[-length:]) if truncating == "pre" else list(seq[:length])
        if padding == "post":
            out[row, : len(trunc)] = trunc
        else:
            out[row, -len(trunc) :] = trunc
    return out


def choose_maxlen(sequences: Sequence[Sequence[int]], cap: int = 400) -> int:
    """The 95th percentile of training lengths (at least 8, at most `cap`): long tails cost time, not accuracy."""
    lengths = np.asarray([len(s) for s in sequences]) if sequences else np.asarray([1])
    return int(min(cap, max(8, np.percentile(lengths, 95))))


@dataclass
class TextSamples:
    """Raw texts with integer labels; the pipeline tokenises them after the train/val split."""

    texts: list[str]
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: torch.Tensor) -> TextSamples:
        return TextSamples([self.texts[i] for i in indices.tolist()], self.targets[indices])


def encode(tokenizer: Tokenizer, texts: Sequence[str], maxlen: int) -> torch.Tensor:
    """Token ids [N, maxlen], post-padded (models left-align anyway), keeping each text's start."""
    return torch.from_numpy(pad_sequences(tokenizer.texts_to_sequences(texts), maxlen, "post", "post"))


def read_text_csv(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """Texts and labels from a UTF-8 CSV, with the file and line named for every problem."""
    require_file(path, "CSV file")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 ({err.reason})", hint="re-save the file as UTF-8") from None
    texts, labels = [], []
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        header = reader.fieldnames or []
        for column in (text_column, label_column):
            if column not in header:
                raise UserError(f"{path}: no column {column!r}",
                                hint=f"columns: {header}; set data.text_column / data.target_column")  # fmt: skip
        for row in reader:
            line = reader.line_num
            text, label = row.get(text_column), row.get(label_column)
            if text is None or label is None:
                raise UserError(f"{path}:{line}: the row has fewer fields than the header")
            if not label.strip():
                raise UserError(f"{path}:{line}: empty label")
            texts.append(text)
            labels.append(label.strip())
    except csv.Error as err:
        raise UserError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    if not texts:
        raise UserError(f"{path}: no rows")
    return texts, labels
