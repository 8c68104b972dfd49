"""Every config key with its type, default and description, for `neuralab config keys`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from neuralab.config.schema import TASKS, section_model, suggest
from neuralab.errors import UserError


@dataclass(frozen=True)
class KeyInfo:
    key: str
    type: str
    default: Any
    description: str


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    return re.sub(r"\b(typing|pathlib|collections\.abc)\.", "", text).replace("NoneType", "None")


def _walk(model: type[BaseModel], prefix: str) -> list[KeyInfo]:
    rows: list[KeyInfo] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _walk(annotation, f"{key}.")
            continue
        default = field.get_default(call_default_factory=True)
        default = None if default is PydanticUndefined else default
        rows.append(KeyInfo(key, _type_name(annotation), default, field.description or ""))
    return rows


def list_keys(task: str = "classify", section: str = "") -> list[KeyInfo]:
    """The keys of `task`'s config, all of them or those under `section` (data, model, train...)."""
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}{suggest(task, list(TASKS))}", hint=f"tasks: {', '.join(TASKS)}")
    schema = TASKS[task]
    model = section_model(schema, section) if section else schema
    if model is None:
        sections = [n for n in schema.model_fields if section_model(schema, n) is not None]
        raise UserError(
            f"{section!r} is not a section of a {task} config{suggest(section, sections)}",
            hint=f"sections: {', '.join(sections)}",
        )
    return _walk(model, f"{section}." if section else "")
