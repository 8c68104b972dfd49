"""Every serving default, in one place: the CLI's options, the worker processes' environment and the
app all read `ServeSettings`, so no default is written twice. Light to import (no torch)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from neuralab.serve.inputs import InputLimits

ENV_PREFIX = "NEURALAB_SERVE_"
Backend = Literal["torch", "onnx", "onnx-int8"]
Precision = Literal["32", "bf16"]
# Past these the server would fork hundreds of model copies, or warm up batch shapes for minutes.
MAX_WORKERS = 256
MAX_BATCH = 1024


@dataclass(frozen=True)
class ServeSettings:
    backend: Backend = "torch"
    precision: Precision = "32"  # bf16: autocast on CPUs with native bf16 (see `neuralab export --quantize`'s report)
    max_batch: int = 32
    max_wait_ms: float = 1.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 25_000_000
    max_batch_items: int = 256
    threads: int | None = None
    trust_code: bool = False  # rebuild a model whose folder names an import path (see neuralab.models.sources)
    log_level: str = "info"  # info: one JSON line per request, from every worker process
    request_timeout_s: float = 60.0  # a request's first byte to its last (8 MB at ~1 Mbit/s); see slow_clients

    @property
    def limits(self) -> InputLimits:
        from neuralab.serve.inputs import InputLimits  # torch and PIL: not needed for the CLI's defaults

        return InputLimits(self.max_body_bytes, self.max_pixels, self.max_batch_items)

    def to_env(self, run_dir: Path) -> dict[str, str]:
        """How `--workers N` hands the settings to each uvicorn worker process."""
        values = {k: ("" if v is None else str(v)) for k, v in asdict(self).items()}
        return {f"{ENV_PREFIX}RUN_DIR": str(run_dir)} | {f"{ENV_PREFIX}{k.upper()}": v for k, v in values.items()}

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> tuple[Path, ServeSettings]:
        """The run folder and settings `to_env` wrote (a missing or empty value keeps the default)."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"{ENV_PREFIX}{f.name.upper()}", "")
            if raw:
                kind: Any = {
                    "max_wait_ms": float,
                    "request_timeout_s": float,
                    "backend": str,
                    "precision": str,
                    "log_level": str,
                    "trust_code": lambda v: v == "True",
                }
                values[f.name] = kind.get(f.name, int)(raw)
        return Path(env[f"{ENV_PREFIX}RUN_DIR"]), cls(**values)


DEFAULTS = ServeSettings()
