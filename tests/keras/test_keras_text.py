"""Keras's Tokenizer semantics: index order, num_words, oov_token."""

from __future__ import annotations

from neuralab.keras.preprocessing.sequence import pad_sequences
from neuralab.keras.preprocessing.text import Tokenizer

TEXTS = ["The cat sat", "the dog sat down", "cat!"]


def test_words_are_indexed_by_count_ties_in_first_seen_order() -> None:
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(TEXTS)
    assert tokenizer.word_index == {"the": 1, "cat": 2, "sat": 3, "dog": 4, "down": 5}
    assert tokenizer.document_count == 3 and tokenizer.word_docs["sat"] == 2


def test_unknown_words_are_dropped_without_an_oov_token() -> None:
    tokenizer = Tokenizer(num_words=3)
    tokenizer.fit_on_texts(TEXTS)
    assert tokenizer.texts_to_sequences(["the cat dog bird"]) == [[1, 2]]  # dog is index 4 >= num_words


def test_oov_token_takes_index_1_and_replaces_unknown_and_rare_words() -> None:
    tokenizer = Tokenizer(num_words=4, oov_token="<OOV>")
    tokenizer.fit_on_texts(TEXTS)
    assert tokenizer.word_index["<OOV>"] == 1 and tokenizer.word_index["the"] == 2
    assert tokenizer.texts_to_sequences(["the cat dog bird"]) == [[2, 3, 1, 1]]
    assert tokenizer.sequences_to_texts([[2, 3]]) == ["the cat"]


def test_the_tutorials_pipeline_pads_to_maxlen() -> None:
    tokenizer = Tokenizer(num_words=10000)
    tokenizer.fit_on_texts(TEXTS)
    padded = pad_sequences(tokenizer.texts_to_sequences(TEXTS), maxlen=5)
    assert padded.shape == (3, 5) and padded[2].tolist() == [0, 0, 0, 0, 2]  # Keras pads at the front
