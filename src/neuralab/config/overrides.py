"""Where settings come from: a YAML file, `--set a.b=c` items and CLI flags, merged into one nested dict."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from neuralab.errors import UserError

_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserError(f"config file {path} is not valid YAML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"config file {path} must hold a mapping of sections, got {type(raw).__name__}")
    return raw


def parse_set(items: list[str]) -> dict[str, Any]:
    """`["optim.lr=3e-4", "model.args.widths=[64,32]"]` -> nested dict; values parsed as YAML."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r} must look like key.sub=value")
        set_dotted(out, key.strip(), parse_value(value))
    return out


def parse_value(text: str) -> Any:
    """YAML scalars and lists, plus what YAML 1.1 leaves as strings but people mean as numbers (3e-4)."""
    if not text.strip():
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, str) and _EXPONENT_NUMBER.fullmatch(parsed.strip()):
        return float(parsed)
    return parsed


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"config key {dotted!r}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Later wins; nested mappings merge key by key (model.args included)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
