"""Text classification on Debian's fortune corpora: TF-IDF + logistic regression vs neuralab's models.

Same train/test split for every model (the dataset's fixed stratified 20% test). The baseline
chooses C by 5-fold cross-validation on the training split; neuralab models hold out 10% of the
training split for validation (best epoch) and never see the test split until the end.
Prints one JSON line.

Usage: python benchmarks/text_fortunes.py [--corpora fortunes-en,fortunes-zh] [--seeds 0,1,2] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from typing import Any

from rich.console import Console
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from neuralab.data import DATASETS, LoadOptions
from neuralab.pipeline import resolve_config, run_config

NEURAL = {
    "text_bag": {},  # the dataset recipe: mean of embeddings, Adam 0.01, 30 epochs
    "text_rnn": {"model": {"name": "text_rnn"}, "optim": {"name": "adam", "lr": 3e-3}, "train": {"epochs": 12}},
    "text_transformer": {"model": {"name": "text_transformer"}, "optim": {"name": "adamw", "lr": 1e-3},
                         "sched": {"name": "cosine"}, "train": {"epochs": 20}},
}  # fmt: skip


def baseline(corpus: str) -> dict[str, Any]:
    data = DATASETS.get(corpus).load(LoadOptions())
    chinese = corpus.endswith("zh")
    vectorizer = TfidfVectorizer(sublinear_tf=True, analyzer="char" if chinese else "word", ngram_range=(1, 2))
    search = GridSearchCV(make_pipeline(vectorizer, LogisticRegression(max_iter=3000)),
                          {"logisticregression__C": [0.3, 1, 3, 10, 30]}, cv=5, n_jobs=1)  # fmt: skip
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
    cfg = resolve_config({"data": {"name": corpus}, "train": {"seed": seed, "grad_monitor_every": 0}, **NEURAL[name],
                          "out_dir": out, "name": f"{corpus}-{name}-{seed}"})  # fmt: skip
    summary = run_config(cfg, Console(file=io.StringIO())).summary
    return {
        "seed": seed,
        "accuracy": round(100 * summary["test"]["accuracy"], 2),
        "macro_f1": round(100 * summary["test"]["macro_f1"], 2),
        "train_seconds": round(summary["train_seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default="fortunes-en,fortunes-zh")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true", help="text_bag only")
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
            results[corpus] = row
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
