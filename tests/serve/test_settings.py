"""Serving settings: one source of defaults, and the round trip through worker environments."""

from __future__ import annotations

from pathlib import Path

from neuralab.serve.settings import DEFAULTS, ServeSettings


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = ServeSettings(
        backend="onnx",
        max_batch=7,
        max_wait_ms=2.5,
        max_pixels=1000,
        threads=3,
        trust_code=True,
        log_level="warning",
        request_timeout_s=7.5,
    )
    run_dir, back = ServeSettings.from_env(settings.to_env(tmp_path))
    assert run_dir == tmp_path and back == settings
    _, defaults = ServeSettings.from_env({"NEURALAB_SERVE_RUN_DIR": str(tmp_path)})
    assert defaults == DEFAULTS and defaults.limits.max_pixels == DEFAULTS.max_pixels
