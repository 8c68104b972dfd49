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


def test_limits_that_would_sink_the_server_are_refused(digits_run: Path) -> None:
    from tests.conftest import run_cli

    for flags, named in [
        (("--max-batch", "5000"), "--max-batch at most 1024"),
        (("--workers", "100000"), "--workers must be at most 256"),
        (("--threads", "0"), "--threads from 1 to 1024"),
    ]:
        done = run_cli("serve", str(digits_run), "--port", "1", *flags)
        assert done.returncode == 2 and named in " ".join(done.stderr.split()), done.stderr


def test_warm_up_covers_small_batches_and_powers_of_two_only(digits_run: Path) -> None:
    from neuralab.serve.predictor import Predictor

    predictor = Predictor(digits_run)
    assert [len(b) for b in predictor.warm_up_inputs(10)] == list(range(1, 11))
    sizes = [len(b) for b in predictor.warm_up_inputs(1000)]
    assert sizes == [*range(1, 65), 128, 256, 512, 1000]  # not a thousand batches before the first request
