"""A run folder as a stranger's data: change one thing at a time, run every command that reads it.

A run folder is what users share (a zip from a colleague, a folder from a course), so each file in
it is untrusted input. This trains one small digits run (the recipe's CNN, 2 epochs), then for each
tampering below copies it, applies the change, and runs evaluate, predict, explain, report,
diagnose, export, runs and compare on the copy, each in its own process. Every command run is sorted into one of:

  ran        exit 0
  nan        exit 0, but answering with a NaN probability or loss
  refused    a non-zero exit with a message and no Python traceback
  traceback  "Traceback (most recent call last)" on stderr: a raw traceback reached the user
  crash      killed by a signal (segfault, out of memory)
  hang       still running after --timeout seconds

and each copy's files are hashed before and after: a command that changes a file it did not create
(`lost`) fails the check too. Prints one JSON line (and, with --verbose, one line per command run).

Usage: .venv/bin/python benchmarks/run_folder_fuzz.py [--timeout 120] [--only NAME,...] [--verbose]
       NEURALAB_SRC=/path/to/old/src .venv/bin/python benchmarks/run_folder_fuzz.py   # another version
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

Change = Callable[[Path], None]
NAN_ANSWER = re.compile(r"\bnan%|\bloss nan\b")  # an answer the model could not have meant


def edit_json(name: str, change: Callable[[Any], Any]) -> Change:
    def apply(run: Path) -> None:
        path = run / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return apply


def edit_text(name: str, change: Callable[[str], str]) -> Change:
    def apply(run: Path) -> None:
        path = run / name
        path.write_text(change(path.read_text()))

    return apply


def with_preprocess(**fields: Any) -> Change:
    return edit_json("model.json", lambda card: card | {"preprocess": card["preprocess"] | fields})


def nan_weights(run: Path) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(run / "model.safetensors")
    first = next(iter(tensors))
    tensors[first] = np.full_like(tensors[first], np.nan)
    save_file(tensors, run / "model.safetensors")


def truncate(name: str, keep: float) -> Change:
    def apply(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: int(len(data) * keep)])

    return apply


def remove(name: str) -> Change:
    return lambda run: (run / name).unlink()


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

TAMPERINGS: dict[str, Change] = {
    "summary: metric is text": edit_json("summary.json", lambda s: s | {"test": s["test"] | {"accuracy": "high"}}),
    "summary: test missing": edit_json("summary.json", lambda s: {k: v for k, v in s.items() if k != "test"}),
    "summary: a list": edit_json("summary.json", lambda s: [s]),
    "summary: best is text": edit_json("summary.json", lambda s: s | {"best": "x"}),
    "summary: confusion matrix 1x1": edit_json(
        "summary.json", lambda s: s | {"test": s["test"] | {"confusion_matrix": [[1]]}}
    ),
    "summary: parameters is text": edit_json("summary.json", lambda s: s | {"parameters": "many"}),
    "summary: not JSON": truncate("summary.json", 0.5),
    "findings: item lacks fields": edit_json("findings.json", lambda f: [{"kind": "x"}]),
    "findings: an object": edit_json("findings.json", lambda f: {"a": 1}),
    "metrics: a cell is text": edit_text("metrics.csv", lambda t: t.replace("\n1,", "\nabc,", 1)),
    "metrics: ragged row": edit_text("metrics.csv", lambda t: t.rstrip("\n") + ",1,2,3\n"),
    "metrics: empty": edit_text("metrics.csv", lambda t: ""),
    "model: 10**9 classes": edit_json("model.json", lambda c: c | {"num_classes": 10**9}),
    "model: -1 classes": edit_json("model.json", lambda c: c | {"num_classes": -1}),
    "model: classes too short": edit_json("model.json", lambda c: c | {"classes": c["classes"][:3]}),
    "model: a class named twice": edit_json("model.json", lambda c: c | {"classes": ["0", *c["classes"][:-1]]}),
    "model: task unknown": edit_json("model.json", lambda c: c | {"task": "dance"}),
    "model: std 0": with_preprocess(std=[0.0]),
    "model: scale 1e308": with_preprocess(scale=1e308),
    "model: input 10**10 values": with_preprocess(input_shape=[1, 10**5, 10**5]),
    "model: a list": edit_json("model.json", lambda c: [c]),
    "model: input_shape missing": edit_json("model.json", lambda c: {k: v for k, v in c.items() if k != "input_shape"}),
    "model: not JSON": truncate("model.json", 0.5),
    "weights: truncated": truncate("model.safetensors", 0.5),
    "weights: empty": truncate("model.safetensors", 0.0),
    "weights: NaN": nan_weights,
    "config: missing": remove("config.yaml"),
    "config: alias bomb": edit_text("config.yaml", lambda t: BOMB),
    "config: not YAML": edit_text("config.yaml", lambda t: "train: [unclosed\n"),
}


def neuralab_command() -> list[str]:
    """This venv's neuralab, or the sources in $NEURALAB_SRC (an older checkout, to compare)."""
    return [sys.executable, "-m", "neuralab"]


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    if "NEURALAB_SRC" in env:
        env["PYTHONPATH"] = env["NEURALAB_SRC"]
    return env


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def outcome(args: list[str], timeout: float) -> tuple[str, str]:
    try:
        done = subprocess.run(neuralab_command() + args, capture_output=True, text=True, timeout=timeout, env=run_env())
    except subprocess.TimeoutExpired:
        return "hang", ""
    if done.returncode < 0:
        return "crash", f"signal {-done.returncode}"
    if "Traceback (most recent call last)" in done.stderr:
        return "traceback", done.stderr.strip().splitlines()[-1][:160]
    last = (done.stderr.strip() or done.stdout.strip()).splitlines()
    if done.returncode == 0 and NAN_ANSWER.search(done.stdout):
        return "nan", last[0][:160] if last else ""
    return ("ran" if done.returncode == 0 else "refused"), (last[0][:160] if last else "")


def commands(run: Path, original: Path, image: Path, scratch: Path) -> dict[str, list[str]]:
    return {
        "evaluate": ["evaluate", str(run)],
        "predict": ["predict", str(run), str(image)],
        "explain": ["explain", str(run), str(image), "--out", str(scratch / "explain")],
        "report": ["report", str(run)],
        "diagnose": ["diagnose", str(run)],
        "export": ["export", str(run), "--format", "torchscript", "--out", str(scratch / "model.pt")],
        "runs": ["runs", str(run.parent)],
        "compare": ["compare", str(original), str(run), "--out", str(scratch / "comparison.html")],
    }


def train_run(root: Path) -> Path:
    args = ["train", "--dataset", "digits", "--out", str(root), "--name", "original",
            "--set", "train.epochs=2"]  # fmt: skip
    subprocess.run(neuralab_command() + args, check=True, capture_output=True, env=run_env())
    return root / "original"


def digit_png(path: Path) -> Path:
    image = load_digits().images[0]
    Image.fromarray((image * 255 / 16).astype(np.uint8)).save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=120, help="seconds before a command run counts as a hang")
    parser.add_argument("--only", help="comma-separated tampering names (default: all)")
    parser.add_argument("--verbose", action="store_true", help="one line per command run on stderr")
    args = parser.parse_args()
    chosen = {k: v for k, v in TAMPERINGS.items() if not args.only or k in args.only.split(",")}

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        original = train_run(base / "trained")
        image = digit_png(base / "digit.png")
        counts: dict[str, int] = {}
        failing: dict[str, list[str]] = {}
        for index, (name, change) in enumerate(chosen.items()):
            parent = base / f"case{index}"
            run = parent / "run"
            shutil.copytree(original, run)
            change(run)
            scratch = base / f"scratch{index}"  # what the commands write outside the run folder
            scratch.mkdir()
            for command, argv in commands(run, original, image, scratch).items():
                before = hashes(run)
                kind, detail = outcome(argv, args.timeout)
                after = hashes(run)
                if any(after.get(file) != digest for file, digest in before.items() if file != "report.html"):
                    kind = "lost"
                counts[kind] = counts.get(kind, 0) + 1
                if kind not in ("ran", "refused"):
                    failing.setdefault(name, []).append(f"{command}: {kind} {detail}")
                if args.verbose:
                    print(f"{name:32} {command:9} {kind:9} {detail}", file=sys.stderr)
    print(json.dumps({
        "tamperings": len(chosen),
        "command_runs": sum(counts.values()),
        "outcomes": counts,
        "tamperings_failing": len(failing),
        "failing": failing,
        "seconds": round(time.perf_counter() - start, 1),
        "neuralab_src": os.environ.get("NEURALAB_SRC", "installed"),
    }, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
