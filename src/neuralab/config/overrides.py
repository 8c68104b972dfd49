"""Where settings come from: a YAML file, `--set a.b=c` items and CLI flags, merged into one nested dict."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from neuralab.errors import UserError, require_file

_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
MAX_YAML_VALUES = 100_000  # a real config holds hundreds; a YAML alias bomb expands to billions


class _NoDuplicateKeysLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping: PyYAML keeps the last one silently, so a
    second `train:` section would drop every key of the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` then a key of its own overrides on purpose
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool):
                continue  # a composite key cannot be hashed; PyYAML refuses it itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one section", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str, where: str) -> Any:
    """yaml.safe_load, refusing a key given twice and documents whose aliases expand past MAX_YAML_VALUES.

    safe_load shares an alias's object rather than copying it, so parsing a "billion laughs" file is
    cheap, but everything that walks the result afterwards (validation, merging, printing) is not.
    """
    raw = yaml.load(text, Loader=_NoDuplicateKeysLoader)  # a SafeLoader subclass: no Python objects
    budget, pending = MAX_YAML_VALUES, [raw]
    while pending:
        node = pending.pop()
        budget -= 1
        if budget < 0:
            raise UserError(f"{where} expands to more than {MAX_YAML_VALUES:,} values (YAML aliases repeat what "
                            "they point to): not a configuration")  # fmt: skip
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return raw


def load_yaml(path: Path) -> dict[str, Any]:
    require_file(path, "config file")
    try:
        raw = load_yaml_text(path.read_text(encoding="utf-8"), f"config file {path}")
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
        parsed = load_yaml_text(text, f"the value {text[:40]!r}")
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
