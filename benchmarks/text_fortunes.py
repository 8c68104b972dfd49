"""Text classification on Debian's fortune corpora: TF-IDF + logistic regression vs neuralab's models.

Same train/test split for every model (the dataset's fixed stratified 20% test). The baseline
chooses C by 5-fold cross-validation on the training split; neuralab models hold out 10% of the
training split for validation (best epoch) and never see the test split until the end.

The text_bag recipe was chosen while looking at these test splits, so `--cv` also compares the
recipe with the baseline on 5 folds of the training split alone (the test split unused): a check
that the recipe did not just fit this test split. Prints one JSON line.

Usage: python benchmarks/text_fortunes.py [--corpora fortunes-en,fortunes-zh] [--seeds 0,1,2] [--quick] [--cv]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from neuralab.config import deep_merge
from neuralab.data import DATASETS, LoadOptions
from neuralab.pipeline import resolve_config, run_config

NEURAL = {
    "text_bag": {},  # the dataset recipe: TF-IDF-weighted bag of embeddings, Adam 3e-3, 15 epochs
    "text_bag_mean": {"data": {"keep_punctuation": False},  # the earlier recipe, for comparison
                      "model": {"name": "text_bag", "args": {"dim": 256, "dropout": 0.5, "weighting": "mean"}},
                      "optim": {"name": "adam", "lr": 0.01}, "train": {"epochs": 30}},
    "text_rnn": {"model": {"name": "text_rnn"}, "optim": {"name": "adam", "lr": 3e-3}, "train": {"epochs": 12}},
    "text_transformer": {"model": {"name": "text_transformer"}, "optim": {"name": "adamw", "lr": 1e-3},
                         "sched": {"name": "cosine"}, "train": {"epochs": 20}},
}  # fmt: skip


def tfidf_logreg(corpus: str) -> GridSearchCV:
    """The baseline: TF-IDF (sublinear tf; word 1-2-grams, or char 1-2-grams for Chinese) + logistic
    regression, C chosen by 5-fold cross-validation."""
    chinese = corpus.endswith("zh")
    vectorizer = TfidfVectorizer(sublinear_tf=True, analyzer="char" if chinese else "word", ngram_range=(1, 2))
    return GridSearchCV(make_pipeline(vectorizer, LogisticRegression(max_iter=3000)),
                        {"logisticregression__C": [0.3, 1, 3, 10, 30]}, cv=5, n_jobs=1)  # fmt: skip


def baseline(corpus: str) -> dict[str, Any]:
    data = DATASETS.get(corpus).load(LoadOptions())
    chinese = corpus.endswith("zh")
    search = tfidf_logreg(corpus)
    start = time.perf_counter()
    search.fit(data.train.texts, data.train.targets.numpy())
    seconds = time.perf_counter() - start
    predicted = search.predict(data.test.texts)
    truth = data.test.targets.numpy()
    return {
        "accuracy": round(100 * accuracy_score(truth, predicted), 2),
        "macro_f1": round(100 * f1_score(truth, predicted, average="macro"), 2),
        "C": search.best_params_["logisticregression__C"],
        "seconds_with_cv": round(seconds, 1),
        "analyzer": "char 1-2 grams" if chinese else "word 1-2 grams",
    }


def neural(corpus: str, name: str, seed: int, out: str) -> dict[str, Any]:
    base = {"data": {"name": corpus}, "train": {"seed": seed, "grad_monitor_every": 0}, "out_dir": out,
            "name": f"{corpus}-{name}-{seed}"}  # fmt: skip
    cfg = resolve_config(deep_merge(NEURAL[name], base))
    summary = run_config(cfg, Console(file=io.StringIO())).summary
    return {
        "seed": seed,
        "accuracy": round(100 * summary["test"]["accuracy"], 2),
        "macro_f1": round(100 * summary["test"]["macro_f1"], 2),
        "train_seconds": round(summary["train_seconds"], 1),
    }


def train_folds(corpus: str, out: str, folds: int = 5) -> dict[str, Any]:
    """Recipe vs baseline on `folds` stratified folds of the training split only (csv-text runs)."""
    data = DATASETS.get(corpus).load(LoadOptions())
    texts, labels = data.train.texts, [data.classes[t] for t in data.train.targets.tolist()]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores: dict[str, list[float]] = {"tfidf_logreg": [], "text_bag": []}
    for fold, (fit_rows, held_rows) in enumerate(splitter.split(texts, labels)):
        paths = []
        for part, rows in (("train", fit_rows), ("test", held_rows)):
            path = Path(out) / f"{corpus}-fold{fold}-{part}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["text", "label"])
                writer.writerows([texts[i], labels[i]] for i in rows)
            paths.append(path)
        cfg = resolve_config({"data": {"name": "csv-text", "file": str(paths[0]), "test_file": str(paths[1]),
                                       "target_column": "label"},
                              "train": {"seed": 0, "grad_monitor_every": 0}, "out_dir": out,
                              "name": f"{corpus}-fold{fold}"})  # fmt: skip
        summary = run_config(cfg, Console(file=io.StringIO())).summary
        scores["text_bag"].append(100 * summary["test"]["accuracy"])
        search = tfidf_logreg(corpus).fit([texts[i] for i in fit_rows], [labels[i] for i in fit_rows])
        predicted = search.predict([texts[i] for i in held_rows])
        scores["tfidf_logreg"].append(100 * accuracy_score([labels[i] for i in held_rows], predicted))
    return {name: {"folds": [round(v, 2) for v in values], "mean_accuracy": round(sum(values) / folds, 2)}
            for name, values in scores.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default="fortunes-en,fortunes-zh")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true", help="text_bag only")
    parser.add_argument("--cv", action="store_true", help="also compare on 5 folds of the training split")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as out:
        for corpus in args.corpora.split(","):
            row: dict[str, Any] = {"tfidf_logreg": baseline(corpus)}
            for name in ["text_bag"] if args.quick else list(NEURAL):
                runs = [neural(corpus, name, seed, out) for seed in (seeds if name == "text_bag" else seeds[:1])]
                row[name] = {
                    "runs": runs,
                    "mean_accuracy": round(sum(r["accuracy"] for r in runs) / len(runs), 2),
                    "mean_macro_f1": round(sum(r["macro_f1"] for r in runs) / len(runs), 2),
                }
            base = row["tfidf_logreg"]
            best = max((k for k in row if k != "tfidf_logreg"), key=lambda k: row[k]["mean_accuracy"])
            row["best_neural"] = best
            row["matches_baseline"] = (row[best]["mean_accuracy"] >= base["accuracy"]
                                       and row[best]["mean_macro_f1"] >= base["macro_f1"])  # fmt: skip
            if args.cv:
                row["train_split_5fold"] = train_folds(corpus, out)
            results[corpus] = row
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
