"""Keras's `Tokenizer`, with its exact semantics, for code written against Keras.

Words are indexed from 1 by descending count (ties keep first-seen order); with `num_words`, only
indices below it are kept; words outside the vocabulary are dropped, unless `oov_token` is set, in
which case they (and words past `num_words`) become its index, 1. neuralab's own tokenizer
(`neuralab.data.text.Tokenizer`, Chinese-aware, always with an OOV id) is what the CLI uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # Keras's, exactly


def text_to_word_sequence(text: str, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ") -> list[str]:
    if lower:
        text = text.lower()
    if len(split) == 1:
        text = text.translate(str.maketrans(filters, split * len(filters)))
    else:
        for char in filters:
            text = text.replace(char, split)
    return [word for word in text.split(split) if word]


class Tokenizer:
    def __init__(self, num_words: int | None = None, filters: str = DEFAULT_FILTERS, lower: bool = True,
                 split: str = " ", char_level: bool = False, oov_token: str | None = None) -> None:  # fmt: skip
        self.num_words, self.filters, self.lower, self.split = num_words, filters, lower, split
        self.char_level, self.oov_token = char_level, oov_token
        self.word_counts: Counter[str] = Counter()
        self.word_docs: Counter[str] = Counter()
        self.document_count = 0
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _words(self, text: str) -> list[str]:
        if self.char_level:
            return list(text.lower() if self.lower else text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.document_count += 1
            words = self._words(text)
            self.word_counts.update(words)
            self.word_docs.update(set(words))
        ordered = sorted(self.word_counts, key=lambda w: -self.word_counts[w])  # stable: ties keep first-seen order
        if self.oov_token is not None:
            ordered = [self.oov_token, *(w for w in ordered if w != self.oov_token)]
        self.word_index = {word: index for index, word in enumerate(ordered, start=1)}
        self.index_word = {index: word for word, index in self.word_index.items()}

    def texts_to_sequences(self, texts: Iterable[str]) -> list[list[int]]:
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        out = []
        for text in texts:
            sequence = []
            for word in self._words(text):
                index = self.word_index.get(word)
                if index is not None and (not self.num_words or index < self.num_words):
                    sequence.append(index)
                elif oov is not None:
                    sequence.append(oov)
            out.append(sequence)
        return out

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        return [" ".join(self.index_word[i] for i in seq if i in self.index_word) for seq in sequences]
