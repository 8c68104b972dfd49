"""Rows of a table (or a series' history) -> the input a regression (or forecasting) model takes.

A client sends `{"rows": [{"area": 120, "location": "north", "rooms": 3}, ...]}` (or the tutorial's
`{"data": [...]}` with the same objects, or lists in the training column order). Unknown columns are
refused by name; a missing value or a category training never saw is encoded as training taught
(the median, or no category at all) and said in the response, never silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from neuralab.data.series import SeriesScaler, model_input
from neuralab.data.table import TableEncoder
from neuralab.errors import UserError
from neuralab.serve.inputs import InputError, InputLimits


@dataclass
class TableInputs:
    tensors: list[torch.Tensor]
    notes: dict[str, Any] = field(default_factory=dict)


def _records(body: Any, encoder: TableEncoder) -> list[Any]:
    if not isinstance(body, dict):
        raise InputError("send a JSON object {'rows': [{column: value, ...}, ...]}", 422, "invalid_request")
    unknown = sorted(set(body) - {"rows", "row", "data"})
    if unknown or len(body) != 1:
        raise InputError(f"send exactly one of 'rows', 'row' or 'data' (got {sorted(body)}); columns: "
                         f"{', '.join(encoder.names)}", 422, "invalid_request")  # fmt: skip
    key, value = next(iter(body.items()))
    records = [value] if key == "row" else value
    if not isinstance(records, list) or not records:
        raise InputError(f"'{key}' must be a non-empty list of rows", 422, "invalid_request")
    return records


def _as_record(row: Any, encoder: TableEncoder, number: int) -> Any:
    """A list in the training column order becomes an object; objects pass through for checking."""
    if isinstance(row, list):
        if len(row) != len(encoder.names):
            raise InputError(f"row {number} has {len(row)} values; this model takes {len(encoder.names)} columns: "
                             f"{', '.join(encoder.names)}", 422, "invalid_input")  # fmt: skip
        return dict(zip(encoder.names, row, strict=True))
    return row


def table_inputs(raw: bytes, encoder: TableEncoder, limits: InputLimits) -> TableInputs:
    """Parse and encode a JSON body of rows; every problem is an InputError naming the row and column."""
    records = _records(_json_body(raw), encoder)
    if len(records) > limits.max_batch_items:
        raise InputError(f"at most {limits.max_batch_items} rows per request", 413, "too_many_instances")
    try:
        rows = encoder.rows_from_records([_as_record(r, encoder, i + 1) for i, r in enumerate(records)])
        for value in rows.ravel():
            if isinstance(value, str) and len(value) > limits.max_text_chars:
                raise InputError(f"a value has {len(value)} characters; the limit is {limits.max_text_chars}", 413,
                                 "text_too_long")  # fmt: skip
        encoded = encoder.encode(rows)
    except UserError as err:
        raise InputError(err.message, 422, "invalid_input") from None
    if not np.isfinite(encoded.features).all():
        raise InputError("a numeric value is too large for this model (it overflows float32)", 422, "invalid_input")
    notes: dict[str, Any] = {}
    if encoded.unseen:
        notes["unseen_categories"] = encoded.unseen
    if encoded.imputed:
        notes["imputed"] = encoded.imputed
    features = torch.from_numpy(np.ascontiguousarray(encoded.features))
    return TableInputs(list(features), notes)


def history_input(raw: bytes, scaler: SeriesScaler, window: int, limits: InputLimits) -> torch.Tensor:
    """`{"history": [v, ...]}` or `[[v1, v2], ...]` -> the scaled last `window` steps [window, series]."""
    body = _json_body(raw)
    if not isinstance(body, dict) or set(body) != {"history"}:
        raise InputError("send JSON {'history': [...]} with the series' most recent steps, oldest first", 422,
                         "invalid_request")  # fmt: skip
    steps = body["history"]
    if not isinstance(steps, list) or not steps:
        raise InputError("'history' must be a non-empty list of steps", 422, "invalid_request")
    if len(steps) > limits.max_text_chars:
        raise InputError(f"'history' has {len(steps)} steps; the limit is {limits.max_text_chars}", 413, "too_long")
    try:
        values = np.asarray(steps, dtype=np.float64)
    except OverflowError:  # JSON integers have no size limit; float64 does
        raise InputError("a value in 'history' is too large for this model") from None
    except (ValueError, TypeError):
        raise InputError("'history' must hold numbers (one per step, or one list per step)") from None
    try:
        return torch.from_numpy(model_input(values, scaler, window))
    except UserError as err:
        raise InputError(err.message.replace("the history", "'history'"), 422, "invalid_input") from None


def _json_body(raw: bytes) -> Any:
    if not raw:
        raise InputError("the JSON body is empty", 400, "empty_body")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"the body is not valid JSON ({err})", 400, "bad_json") from None
    except RecursionError:  # thousands of nested brackets: a parser bomb, not a table
        raise InputError("the JSON body is nested too deeply", 400, "bad_json") from None
