"""Text end to end on real corpora: train, evaluate, predict --text, pretrained vectors, serve."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from neuralab.data.registry import LoadOptions
from neuralab.data.text_datasets import load_fortunes_zh
from neuralab.pipeline import evaluate_run, predict_texts, resolve_config, run_config
from neuralab.records import read_json
from neuralab.runs import load_model, load_tensors
from tests.conftest import needs_fortunes, run_cli

pytestmark = needs_fortunes


@pytest.fixture(scope="module")
def zh_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The Chinese corpus written as the user's own CSV files (train and test)."""
    folder = tmp_path_factory.mktemp("zh-csv")
    data = load_fortunes_zh(LoadOptions())
    paths = []
    for name, samples in (("train", data.train), ("test", data.test)):
        path = folder / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["内容", "出处"])
            for text, label in zip(samples.texts, samples.targets.tolist(), strict=True):
                writer.writerow([text, data.classes[label]])
        paths.append(path)
    return paths[0], paths[1]


def test_csv_text_cli_train_predict_evaluate(zh_csv: tuple[Path, Path], tmp_path: Path) -> None:
    train, test = zh_csv
    result = run_cli(
        "train", "--dataset", "csv-text", "--data", str(train), "--set", f"data.test_file={test}",
        "--set", "data.text_column=内容", "--set", "data.target_column=出处", "--epochs", "8",
        "--out", str(tmp_path), "--name", "zh",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "zh"
    summary = read_json(run / "summary.json")
    assert summary["test"]["accuracy"] > 0.7  # 4 classes; chance is about 0.38 (the largest class)
    card = read_json(run / "model.json")
    assert card["preprocess"]["kind"] == "text" and card["preprocess"]["extra"]["level"] == "char-bigram"
    assert card["args"]["vocab_size"] == card["preprocess"]["extra"]["vocab_size"]

    lines = tmp_path / "lines.txt"
    lines.write_text("学而时习之，不亦说乎\n\n富在深山有远亲\n", encoding="utf-8")
    result = run_cli("predict", str(run), "--text", "子曰：温故而知新", "--text-file", str(lines), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["子曰：温故而知新", "学而时习之，不亦说乎", "富在深山有远亲"]
    assert rows[0]["top"][0]["class"] == "论语"

    again = evaluate_run(run)  # the stored tokenizer, not a refit one
    assert again["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-6)
    idf = load_tensors(run / "model.safetensors")["idf"]  # learned from the training split, saved
    assert idf[:2].eq(0).all() and idf[2:].min() >= 1 and idf[2:].std() > 0.1

    result = run_cli("predict", str(run), "--text", "x", str(lines))
    assert result.returncode == 2 and "not both" in result.stderr

    # A tokenizer tampered to give ids past the embedding is refused at load, not inside each request.
    tampered = tmp_path / "tampered"
    shutil.copytree(run, tampered)
    card["preprocess"]["extra"]["tokenizer"]["word_index"]["学"] = 10**6
    (tampered / "model.json").write_text(json.dumps(card), encoding="utf-8")
    result = run_cli("predict", str(tampered), "--text", "学")
    assert result.returncode == 2 and "the tokenizer gives ids up to 1000000" in " ".join(result.stderr.split())


def test_bad_text_inputs_are_named(zh_csv: tuple[Path, Path], tmp_path: Path) -> None:
    train, _ = zh_csv
    result = run_cli("train", "--dataset", "csv-text", "--data", str(train), "--out", str(tmp_path))
    assert result.returncode == 2 and "no column 'text'" in result.stderr and "内容" in result.stderr
    result = run_cli("train", "--dataset", "csv-text", "--data", str(train), "--set", "data.text_level=words")
    assert result.returncode == 2 and "text_level" in result.stderr


def test_bilstm_on_fortunes_en_and_its_explanations(tmp_path: Path) -> None:
    cfg = resolve_config({
        "data": {"name": "fortunes-en", "maxlen": 48}, "model": {"name": "text_rnn", "args": {"hidden": 64}},
        "train": {"epochs": 4}, "optim": {"lr": 3e-3}, "out_dir": str(tmp_path), "name": "en",
    })  # fmt: skip
    result = run_config(cfg, Console(file=io.StringIO()))
    assert result.summary["test"]["accuracy"] > 0.4  # 5 topics, the largest 29%
    text = "The computer crashed and the program lost my file."
    rows = predict_texts(result.run_dir, [text], top_k=5)
    assert len(rows[0]["top"]) == 5 and rows[0]["top"][0]["class"] == "computers"

    from neuralab.explain.explainer import explain_texts

    (exp,) = explain_texts(result.run_dir, [text])
    assert exp.tokens[:3] == ["the", "computer", "crashed"] and len(exp.scores) == len(exp.tokens)
    model, card = load_model(result.run_dir)
    from neuralab.data.text import Tokenizer, encode

    ids = encode(Tokenizer.from_dict(card["preprocess"]["extra"]["tokenizer"]), [text], 48)
    target = card["classes"].index(exp.target_label)
    with torch.no_grad():
        full = float(model(ids)[0, target])
        hook = model.embedding.register_forward_hook(lambda _m, _i, out: torch.zeros_like(out))
        blank = float(model(ids)[0, target])  # the path's start: every token's vector zeroed
        hook.remove()
    assert sum(exp.scores) == pytest.approx(full - blank, rel=0.05, abs=1e-2)  # completeness over the tokens
    result = run_cli("explain", str(result.run_dir), "--text", text, "--out", str(tmp_path / "ex"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "ex" / "tokens.html").read_text(encoding="utf-8")
    assert "computer" in page and "background:rgba(" in page


def test_pretrained_vectors_frozen_and_reported(tmp_path: Path) -> None:
    """Vectors learned from the corpus itself (LSA), written in GloVe's text format."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import CountVectorizer

    from neuralab.data.text_datasets import load_fortunes_en

    texts = load_fortunes_en(LoadOptions()).train.texts
    counts = CountVectorizer(min_df=3).fit(texts)
    vectors = TruncatedSVD(32, random_state=0).fit(counts.transform(texts)).components_.T
    glove = tmp_path / "vectors.txt"
    glove.write_text(
        "".join(f"{w} {' '.join(f'{v:.5f}' for v in vectors[i])}\n" for w, i in counts.vocabulary_.items()),
        encoding="utf-8",
    )
    cfg = resolve_config({
        "data": {"name": "fortunes-en", "embeddings_file": str(glove)}, "model": {"name": "text_bag",
        "args": {"dim": 32}}, "train": {"epochs": 2}, "out_dir": str(tmp_path), "name": "glove",
    })  # fmt: skip
    console = Console(file=io.StringIO())
    result = run_config(cfg, console)
    assert "pretrained vectors:" in console.file.getvalue()  # type: ignore[attr-defined]
    info = result.summary["embeddings"]
    assert 0.2 < info["coverage"] < 1.0 and info["frozen"] is True  # CountVectorizer kept words seen 3+ times
    assert result.summary["parameters"]["frozen"] > 0
    model, card = load_model(result.run_dir)
    word_index = card["preprocess"]["extra"]["tokenizer"]["word_index"]
    word = next(w for w in counts.vocabulary_ if w in word_index)
    np.testing.assert_allclose(
        model.embedding.weight[word_index[word]].detach().numpy(), vectors[counts.vocabulary_[word]], atol=1e-4
    )  # still the given vector after training: frozen
    bad = resolve_config(
        {"data": {"name": "fortunes-en", "embeddings_file": str(glove)}, "model": {"name": "text_bag"}}
    )
    from neuralab.errors import UserError

    with pytest.raises(UserError, match="32-d vectors"):
        run_config(bad.model_copy(update={"out_dir": tmp_path}), Console(file=io.StringIO()))
    assert torch.is_tensor(model.embedding.weight)
