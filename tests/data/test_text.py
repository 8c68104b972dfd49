"""Tokenizer, pad_sequences, CSV text, the fortune corpora and pretrained vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralab.data.embeddings import align_vectors
from neuralab.data.registry import LoadOptions
from neuralab.data.text import OOV, PAD, Tokenizer, detect_level, pad_sequences, read_text_csv
from neuralab.data.text_datasets import ZH_SOURCES, load_fortunes_en, load_fortunes_zh, zh_source
from neuralab.errors import UserError
from tests.conftest import needs_fortunes


def test_word_tokenizer_keras_semantics() -> None:
    train = ["The cat sat.", "The cat ran!", "A dog ran, didn't it?"]
    tok = Tokenizer(num_words=5).fit(train)
    assert tok.level == "word"
    assert tok.tokens("Didn't THE cat...") == ["didn't", "the", "cat"]
    assert set(tok.word_index.values()) == {2, 3, 4}  # num_words=5: ids 0 (pad) and 1 (OOV) plus 3 words
    assert tok.word_index["cat"] < tok.word_index.get("dog", 99)  # most frequent first
    seqs = tok.texts_to_sequences(["the cat flew", "zebra"])
    assert seqs == [[tok.word_index["the"], tok.word_index["cat"], OOV], [OOV]]
    assert Tokenizer.from_dict(tok.to_dict()) == tok


def test_min_freq_and_fit_on_train_only() -> None:
    tok = Tokenizer(min_freq=2).fit(["apple apple pear", "apple plum"])
    assert set(tok.word_index) == {"apple"}
    assert tok.texts_to_sequences(["pear"]) == [[OOV]]
    with pytest.raises(UserError, match="empty vocabulary"):
        Tokenizer(min_freq=5).fit(["one two"])


def test_chinese_and_japanese_are_split_into_characters_and_bigrams() -> None:
    assert detect_level(["学而时习之，不亦说乎", "有朋自远方来"]) == "char-bigram"
    assert detect_level(["plain english text", "more words"]) == "word"
    tok = Tokenizer().fit(["我爱Python编程", "学而时习之"])
    assert tok.level == "char-bigram"
    assert tok.tokens("我爱Python编程！") == ["我", "爱", "我爱", "python", "编", "程", "编程"]
    assert Tokenizer(level="char").fit(["東京タワー"]).tokens("東京タワー") == list("東京タワー")
    assert detect_level(["東京タワーに行きました", "日本語のテキスト"]) == "char-bigram"


def test_kept_punctuation_joins_chinese_bigrams() -> None:
    """Dropped punctuation breaks a run of characters; kept punctuation is a token and pairs with
    its neighbours ("，不" marks a style), while a Latin word still ends the run."""
    text = "宁可做过，不可错过。Go好"
    assert Tokenizer("char-bigram").tokens(text) == [
        "宁", "可", "做", "过", "宁可", "可做", "做过", "不", "可", "错", "过", "不可", "可错", "错过", "go", "好",
    ]  # fmt: skip
    assert Tokenizer("char-bigram", keep_punctuation=True).tokens(text) == [
        "宁", "可", "做", "过", ",", "不", "可", "错", "过", "。",
        "宁可", "可做", "做过", "过,", ",不", "不可", "可错", "错过", "过。", "go", "好",
    ]  # fmt: skip
    assert Tokenizer("word", keep_punctuation=True).tokens("Don't panic!") == ["don't", "panic", "!"]


def test_pad_sequences_matches_keras() -> None:
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=4), [[0, 1, 2, 3], [0, 0, 4, 5], [7, 8, 9, 10]])
    np.testing.assert_array_equal(
        pad_sequences(seqs, maxlen=4, padding="post", truncating="post", value=-1),
        [[1, 2, 3, -1], [4, 5, -1, -1], [6, 7, 8, 9]],
    )
    assert pad_sequences(seqs).shape == (3, 5)
    assert pad_sequences([[], [1]], maxlen=2).tolist() == [[0, 0], [0, 1]]
    with pytest.raises(ValueError):
        pad_sequences(seqs, padding="middle")  # type: ignore[arg-type]
    assert PAD == 0


def test_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text('text,label\n"hello, world",greet\n你好,greet\n', encoding="utf-8")
    assert read_text_csv(good, "text", "label") == (["hello, world", "你好"], ["greet", "greet"])
    with pytest.raises(UserError, match="no column 'body'"):
        read_text_csv(good, "body", "label")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\nok,a\ncaf\xe9,b\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin\.csv:3: not UTF-8"):
        read_text_csv(latin, "text", "label")
    empty_label = tmp_path / "empty.csv"
    empty_label.write_text("text,label\nhi,\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"empty\.csv:2: empty label"):
        read_text_csv(empty_label, "text", "label")
    with pytest.raises(UserError, match=r"missing\.csv does not exist"):
        read_text_csv(tmp_path / "missing.csv", "text", "label")
    with pytest.raises(UserError, match="is a folder, not a file"):
        read_text_csv(tmp_path, "text", "label")  # open() would raise a bare IsADirectoryError


@needs_fortunes
def test_fortune_corpora_load_without_their_labels_in_the_text() -> None:
    en = load_fortunes_en(LoadOptions())
    assert en.classes == ["computers", "men-women", "politics", "science", "work"]
    assert len(en.train) > 2500 and len(en.test) > 600
    zh = load_fortunes_zh(LoadOptions())
    assert zh.classes == ZH_SOURCES and len(zh.train) + len(zh.test) > 1800
    assert not any("《" in t and any(s in t for s in ZH_SOURCES) for t in zh.train.texts[:500])
    assert not any("\x1b" in t for t in zh.train.texts)
    assert zh_source("学而时习之\n    --《论语》") == ("学而时习之", "论语")
    assert zh_source("some text\n    -- Debian") == ("some text", None)


def test_align_vectors_reads_glove_and_word2vec(tmp_path: Path) -> None:
    tok = Tokenizer().fit(["cat dog fish", "cat dog", "cat"])
    glove = tmp_path / "glove.txt"
    glove.write_text("cat 1 2 3\ndog 4 5 6\nzebra 7 8 9\n", encoding="utf-8")
    aligned = align_vectors(glove, tok)
    assert aligned.matrix.shape == (tok.vocab_size, 3) and aligned.found == 2 and aligned.vocab == 3
    assert aligned.coverage == pytest.approx(2 / 3)
    assert aligned.matrix[tok.word_index["dog"]].tolist() == [4, 5, 6] and aligned.matrix[PAD].abs().sum() == 0
    w2v = tmp_path / "w2v.txt"
    w2v.write_text("3 2\nCat 1 1\nfish 2 2\n", encoding="utf-8")
    assert align_vectors(w2v, tok).found == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("cat 1 2\ndog 1 2 3\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad\.txt:2: 3 numbers"):
        align_vectors(bad, tok)
    with pytest.raises(UserError, match=r"embeddings file .*none\.txt does not exist"):
        align_vectors(tmp_path / "none.txt", tok)
    with pytest.raises(UserError, match="is a folder, not a file"):
        align_vectors(tmp_path, tok)
