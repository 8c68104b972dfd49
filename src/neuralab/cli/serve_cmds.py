"""Commands that ship a run: serve over HTTP, export to ONNX or TorchScript."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from neuralab.cli.app import app, console, err_console, example
from neuralab.errors import UserError
from neuralab.serve.settings import DEFAULTS, MAX_BATCH, MAX_WORKERS, ServeSettings


@app.command(epilog=example("neuralab serve RUN_DIR --port 8000 --workers 2"))
def serve(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    host: Annotated[str, typer.Option(help="interface to bind; 0.0.0.0 exposes it to the network")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="server processes, each with its own model copy")] = 1,
    backend: Annotated[
        str, typer.Option(help="torch, onnx or onnx-int8 (needs `neuralab export --format onnx [--quantize int8]`)")
    ] = "torch",
    precision: Annotated[
        str, typer.Option(help="32, or bf16 on CPUs with native bf16 (check its parity: neuralab evaluate --precision)")
    ] = "32",
    max_batch: Annotated[int, typer.Option(help="most inputs per forward pass")] = DEFAULTS.max_batch,
    max_wait_ms: Annotated[float, typer.Option(help="how long a batch waits for more requests")] = DEFAULTS.max_wait_ms,
    max_body_mb: Annotated[float, typer.Option(help="request body limit in MB")] = DEFAULTS.max_body_bytes / 2**20,
    max_megapixels: Annotated[float, typer.Option(help="largest image decoded, in megapixels")] = (
        DEFAULTS.max_pixels / 1e6
    ),
    threads: Annotated[int | None, typer.Option(help="torch threads per worker (default: cores / workers)")] = None,
    request_timeout: Annotated[
        float, typer.Option(help="seconds a request may take to arrive in full; slower clients are disconnected")
    ] = DEFAULTS.request_timeout_s,
    log_level: Annotated[str, typer.Option(help="info logs one JSON line per request")] = DEFAULTS.log_level,
    trust_code: Annotated[
        bool, typer.Option("--trust-code", help="run the Python builder the run folder names (only for code you trust)")
    ] = False,
) -> None:
    """Serve a run over HTTP: POST /predict and /predict/batch; GET /health, /metadata, /metrics, /docs, /."""
    import os

    import uvicorn

    from neuralab.serve.app import create_app
    from neuralab.serve.monitoring import configure_logging
    from neuralab.serve.slow_clients import deadline_protocol

    if workers < 1 or max_batch < 1 or max_wait_ms < 0 or max_body_mb <= 0 or max_megapixels <= 0:
        raise UserError("--workers and --max-batch must be >= 1; --max-wait-ms >= 0; size limits > 0")
    from neuralab.hardware import MAX_THREADS

    if workers > MAX_WORKERS or max_batch > MAX_BATCH or (threads is not None and not 1 <= threads <= MAX_THREADS):
        raise UserError(
            f"--workers must be at most {MAX_WORKERS}, --max-batch at most {MAX_BATCH}, --threads from 1 to "
            f"{MAX_THREADS} (got {workers}, {max_batch}, {threads})"
        )
    if not request_timeout > 0:
        raise UserError(f"--request-timeout must be a positive number of seconds, got {request_timeout}")
    if backend not in ("torch", "onnx", "onnx-int8"):
        raise UserError(f"unknown backend {backend!r}; choose torch, onnx or onnx-int8")
    settings = ServeSettings(
        backend=backend,  # type: ignore[arg-type]
        precision=precision,  # type: ignore[arg-type]
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_body_bytes=int(max_body_mb * 2**20),
        max_pixels=int(max_megapixels * 1e6),
        threads=threads or max(1, (os.cpu_count() or 1) // workers),
        trust_code=trust_code,
        log_level=log_level,
        request_timeout_s=request_timeout,
    )
    configure_logging(log_level)
    err_console.print(
        f"serving {run_dir} on http://{host}:{port}  (API docs: /docs, demo page: /)", highlight=False, soft_wrap=True
    )
    if workers == 1:
        uvicorn.run(create_app(run_dir, settings), host=host, port=port, log_level="warning", access_log=False,
                    http=deadline_protocol(request_timeout))  # fmt: skip
    else:
        import shutil
        import tempfile

        from neuralab.serve.monitoring import MULTIPROCESS_DIR
        from neuralab.serve.workers import run_workers

        create_app(run_dir, settings)  # fail here, once, with a clear message, rather than in every worker
        os.environ.update(settings.to_env(run_dir))
        metrics_dir = tempfile.mkdtemp(prefix="neuralab-metrics-")  # fresh: no counts from an earlier server
        os.environ[MULTIPROCESS_DIR] = metrics_dir
        try:
            run_workers(uvicorn.Config("neuralab.serve.app:app_from_env", factory=True, host=host, port=port,
                                       workers=workers, log_level="warning", access_log=False,
                                       http=deadline_protocol(request_timeout)))  # fmt: skip
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command(epilog=example("neuralab export RUN_DIR --format onnx"))
def export(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    format_: Annotated[str, typer.Option("--format", help="onnx or torchscript")] = "onnx",
    out: Annotated[Path | None, typer.Option(help="output file (default: in RUN_DIR)")] = None,
    trust_code: Annotated[
        bool, typer.Option("--trust-code", help="run the Python builder the run folder names (only for code you trust)")
    ] = False,
    quantize: Annotated[
        str | None, typer.Option(help="int8: also write model.int8.onnx (ONNX Runtime dynamic quantisation)")
    ] = None,
) -> None:
    """Export the model to ONNX or TorchScript and check it against PyTorch (max abs difference)."""
    from neuralab.serve.export import INT8_FILE, export_run, quantize_onnx

    if quantize is not None and (quantize != "int8" or format_ != "onnx" or out is not None):
        raise UserError("--quantize int8 goes with --format onnx and writes into the run folder (no --out)")
    result = export_run(run_dir, format_, out, trust_code=trust_code)  # type: ignore[arg-type]
    console.print(
        f"wrote {result.path} ({result.format}, exporter: {result.exporter}); parity on {result.parity_batch} "
        f"inputs: max abs difference in logits {result.max_abs_diff:.2e}",
        highlight=False,
    )
    if quantize is not None:
        _quantize(run_dir, quantize_onnx(result.path, Path(run_dir) / INT8_FILE))


def _quantize(run_dir: Path, int8: Path) -> None:
    """Report what int8 costs in accuracy, on the whole test split, beside the fp32 model."""
    import json

    from neuralab.pipeline.parity import parity_on_test_split
    from neuralab.records import read_json
    from neuralab.runs import atomic_write_text

    size = f"{int8.stat().st_size / 1e6:.2f} MB (fp32: {(int8.parent / 'model.onnx').stat().st_size / 1e6:.2f} MB)"
    if read_json(Path(run_dir) / "model.json").get("task", "classify") != "classify":
        console.print(f"wrote {int8}, {size}; no parity report (it covers classification runs)", highlight=False)
        return
    report = parity_on_test_split(run_dir, ["onnx", "onnx-int8"])
    atomic_write_text(int8.with_suffix(".parity.json"), json.dumps(report, indent=2))
    q = report["onnx-int8"]
    console.print(
        f"wrote {int8}, {size}; on the {report['test_images']:,} test images: accuracy "
        f"{100 * q['accuracy']:.2f}% (fp32 {100 * report['fp32_accuracy']:.2f}%), top-1 agreement with fp32 "
        f"{100 * q['top1_agreement']:.2f}%, max probability difference {q['max_probability_difference']:.3g}; "
        f"serve it with --backend onnx-int8",
        highlight=False,
    )
