"""`neuralab runs DIR`: every run and group under a folder, as rows to sort, filter and print."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neuralab.config.overrides import load_yaml_text
from neuralab.errors import UserError
from neuralab.experiments.repeats import GROUP_FILE
from neuralab.records import check_summary


@dataclass
class Entry:
    """A finished run or a group of seeds, with what a table or a comparison needs."""

    path: Path
    kind: str  # run or group
    summary: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def metric(self, name: str) -> float | None:
        """A test metric: the run's value, or the group's mean."""
        value = (self.summary.get("test") or {}).get(name)
        if isinstance(value, dict):
            value = value.get("mean")
        return float(value) if isinstance(value, (int, float)) else None

    def row(self) -> dict[str, Any]:
        seconds = self.summary.get("train_seconds")
        seconds = seconds.get("mean") if isinstance(seconds, dict) else seconds
        return {
            "name": self.name, "kind": self.kind, "path": str(self.path),
            "dataset": self.summary.get("dataset"), "model": self.summary.get("model"),
            "seeds": len(self.summary.get("seeds", [])) or 1,
            "task": self.summary.get("task") or self.config.get("task") or "classify",
            "test.accuracy": self.metric("accuracy"), "test.macro_f1": self.metric("macro_f1"),
            "test.rmse": self.metric("rmse"), "test.r2": self.metric("r2"), "test.mase": self.metric("mase"),
            "train_seconds": seconds, "finished_at": self.summary.get("finished_at"),
            **{f"config.{k}": v for k, v in flatten(self.config).items()},
        }  # fmt: skip


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _read(path: Path) -> Any:
    try:
        if path.suffix == ".json":
            return json.loads(path.read_text(encoding="utf-8"))
        return load_yaml_text(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as err:
        raise UserError(f"{path} cannot be read ({type(err).__name__}: {err})") from None


def load_entry(path: Path) -> Entry:
    """The run or group at `path`."""
    path = Path(path)
    if (path / GROUP_FILE).is_file():
        summary = check_summary(_read(path / GROUP_FILE), path / GROUP_FILE)
        return Entry(path, "group", summary, summary.get("config") or {})
    if (path / "summary.json").is_file():
        config = _read(path / "config.yaml") if (path / "config.yaml").is_file() else {}
        summary = check_summary(_read(path / "summary.json"), path / "summary.json")
        return Entry(path, "run", summary, config if isinstance(config, dict) else {})
    raise UserError(f"{path} is neither a finished run (summary.json) nor a group of runs ({GROUP_FILE})")


def find_entries(root: Path, unreadable: list[str] | None = None) -> list[Entry]:
    """Groups and the runs that are not inside a group, under `root`.

    A folder that cannot be read is skipped, so that it does not hide the others; why is appended to
    `unreadable` when given.
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder")
    groups = sorted(p.parent for p in root.rglob(GROUP_FILE))
    runs = sorted(p.parent for p in root.rglob("summary.json") if not any(g in p.parents for g in groups))
    entries = []
    for path in [*groups, *runs]:
        try:
            entries.append(load_entry(path))
        except UserError as err:
            if unreadable is not None:
                unreadable.append(err.message)
    return entries


def _matches(row: dict[str, Any], condition: str) -> bool:
    key, sep, wanted = condition.partition("=")
    if not sep:
        raise UserError(f"--where takes key=value, not {condition!r}", hint="e.g. --where model=fast_cnn")
    for candidate in (key, f"config.{key}"):
        if candidate in row:
            value = row[candidate]
            try:
                return float(value) == float(wanted)
            except (TypeError, ValueError):
                return str(value) == wanted
    return False


def select(entries: list[Entry], where: list[str], sort: str | None, descending: bool) -> list[dict[str, Any]]:
    rows = [e.row() for e in entries]
    rows = [r for r in rows if all(_matches(r, c) for c in where)]
    if sort is not None:
        if rows and not any(sort in r or f"config.{sort}" in r for r in rows):
            raise UserError(f"no column {sort!r} to sort by", hint="e.g. test.accuracy, train_seconds, optim.lr")
        key = sort if any(sort in r for r in rows) else f"config.{sort}"
        present = [r for r in rows if r.get(key) is not None]
        absent = [r for r in rows if r.get(key) is None]
        rows = sorted(present, key=lambda r: (str(type(r[key])), r[key]), reverse=descending) + absent
    return rows
