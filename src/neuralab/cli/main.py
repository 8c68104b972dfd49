"""`neuralab`: one thin function per command: parse -> config -> library call -> print.

Heavy imports (torch) happen inside the commands, so `neuralab --help` answers at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from neuralab.errors import NeuralabError, UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="neuralab: a deep-learning workbench on PyTorch.")
console = Console()
err_console = Console(stderr=True)


def _flag_overrides(**flags: Any) -> dict[str, Any]:
    """Short flags -> the dotted config keys they stand for (None means 'not given')."""
    keys = {
        "dataset": "data.name",
        "data_dir": "data.data_dir",
        "data_file": "data.file",
        "model": "model.name",
        "epochs": "train.epochs",
        "batch_size": "train.batch_size",
        "lr": "optim.lr",
        "seed": "train.seed",
        "out": "out_dir",
        "name": "name",
        "task": "task",
    }
    from neuralab.config import set_dotted

    tree: dict[str, Any] = {}
    for flag, value in flags.items():
        if value is not None:
            set_dotted(tree, keys[flag], str(value) if isinstance(value, Path) else value)
    return tree


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML run config")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
    dataset: Annotated[str | None, typer.Option(help="data.name")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="data.data_dir")] = None,
    data_file: Annotated[Path | None, typer.Option("--data", help="data.file (CSV)")] = None,
    model: Annotated[str | None, typer.Option(help="model.name")] = None,
    epochs: Annotated[int | None, typer.Option(help="train.epochs")] = None,
    batch_size: Annotated[int | None, typer.Option(help="train.batch_size")] = None,
    lr: Annotated[float | None, typer.Option(help="optim.lr")] = None,
    seed: Annotated[int | None, typer.Option(help="train.seed")] = None,
    out: Annotated[Path | None, typer.Option(help="out_dir: parent of run folders")] = None,
    name: Annotated[str | None, typer.Option(help="run folder name")] = None,
    resume: Annotated[Path | None, typer.Option(help="continue the interrupted run in this folder")] = None,
    task: Annotated[str | None, typer.Option(help="task: classify (default) or gan (a DCGAN on the images)")] = None,
) -> None:
    """Train a model; writes a run folder (config, weights, metrics, summary)."""
    from neuralab.pipeline import resume_run
    from neuralab.pipeline import train as train_run

    if resume is not None:
        if config or set_ or any(v is not None for v in (dataset, data_dir, data_file, model, epochs, batch_size, lr)):
            raise UserError("--resume continues a run exactly as configured; it takes no other options")
        result = resume_run(resume, console)
    else:
        flags = _flag_overrides(
            dataset=dataset, data_dir=data_dir, data_file=data_file, model=model, epochs=epochs,
            batch_size=batch_size, lr=lr, seed=seed, out=out, name=name, task=task,
        )  # fmt: skip
        result = train_run(_resolved(config, set_, flags), console)
    if result.summary.get("task") == "gan":
        _print_gan(result.run_dir, result.summary)
        return
    test = result.summary["test"]
    console.print(
        f"test accuracy [bold]{100 * test['accuracy']:.2f}%[/], macro-F1 {100 * test['macro_f1']:.2f}% "
        f"({result.summary['train_seconds']:.1f} s training, {result.summary['train_images_per_s']:.0f} examples/s)",
        highlight=False,
    )
    console.print(f"run folder: {result.run_dir}", highlight=False)
    console.print(f"report:     {result.run_dir / 'report.html'}", highlight=False)


def _resolved(config: Path | None, set_: list[str] | None, flags: dict[str, Any]) -> Any:
    """The validated config from a YAML file, then --set items, then the short flags (later wins)."""
    from neuralab.config import deep_merge, load_yaml, parse_set
    from neuralab.pipeline import resolve_config

    user = deep_merge(load_yaml(config) if config else {}, parse_set(set_ or []))
    return resolve_config(deep_merge(user, flags))


def _print_gan(run_dir: Path, summary: dict[str, Any]) -> None:
    console.print(
        f"pixel Frechet distance {summary['pixel_fd']:.2f} (untrained {summary['pixel_fd_untrained']:.1f}, "
        f"train vs test {summary['pixel_fd_train_vs_test']:.2f}; {summary['train_seconds']:.1f} s training)",
        highlight=False,
    )
    console.print(f"run folder: {run_dir}", highlight=False)
    console.print(f"samples:    {run_dir / 'samples'}", highlight=False)


@app.command()
def sample(
    run_dir: Annotated[Path, typer.Argument(help="a GAN run folder (train --task gan)")],
    n: Annotated[int, typer.Option(help="images to generate")] = 64,
    seed: Annotated[int, typer.Option(help="noise seed: the same seed gives the same images")] = 0,
    out: Annotated[Path, typer.Option(help="PNG file to write")] = Path("samples.png"),
) -> None:
    """Generate new images from a trained GAN, as one PNG grid."""
    from neuralab.pipeline import sample_grid

    if not 1 <= n <= 1024:
        raise UserError(f"--n must be between 1 and 1024, not {n}")
    console.print(f"wrote {sample_grid(run_dir, n, seed, out)}", highlight=False)


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    split: Annotated[str, typer.Option(help="test, val or train")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
) -> None:
    """Evaluate a trained run on a split: accuracy, macro-F1, per-class precision/recall, confusion matrix."""
    from neuralab.pipeline import evaluate_run

    metrics = evaluate_run(run_dir, split)
    if as_json:
        print(json.dumps(metrics))
        return
    console.print(
        f"{split}: accuracy {100 * metrics['accuracy']:.2f}%, macro-F1 {100 * metrics['macro_f1']:.2f}%, "
        f"balanced accuracy {100 * metrics['balanced_accuracy']:.2f}%, loss {metrics['loss']:.4f}",
        highlight=False,
    )
    table = Table("class", "precision", "recall", "f1", "support")
    for cls, row in metrics["per_class"].items():
        table.add_row(cls, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    console.print(table)
    console.print("confusion matrix (rows: true, columns: predicted):")
    for row in metrics["confusion_matrix"]:
        console.print(" ".join(f"{v:>5}" for v in row), highlight=False)


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    images: Annotated[list[Path] | None, typer.Argument(help="image files")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="a text to classify (repeatable)")] = None,
    text_file: Annotated[Path | None, typer.Option(help="a UTF-8 file: one text per line")] = None,
    top_k: Annotated[int, typer.Option(help="classes to show per input")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """Predict the class of image files, or of texts (--text, --text-file) with a text model."""
    from neuralab.pipeline import predict_images, predict_texts

    texts = list(text or [])
    if text_file is not None:
        try:
            texts += [line for line in text_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        except FileNotFoundError:
            raise UserError(f"{text_file}: no such file") from None
        except UnicodeDecodeError as err:
            raise UserError(f"{text_file}: not UTF-8 ({err.reason})") from None
    if bool(texts) == bool(images):
        raise UserError("give image files, or texts with --text / --text-file (not both, not neither)")
    rows = predict_texts(run_dir, texts, top_k) if texts else predict_images(run_dir, images or [], top_k)
    for row in rows:
        if as_json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            best = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in row["top"])
            label = row.get("file") or (row["text"][:60] + ("…" if len(row["text"]) > 60 else ""))
            console.print(f"{label}: {best}", highlight=False)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a finished run folder")]) -> None:
    """(Re)write RUN_DIR/report.html: curves, confusion matrix, per-class table, config."""
    from neuralab.report import write_report
    from neuralab.runs import check_run_dir

    check_run_dir(run_dir)
    console.print(f"report: {write_report(run_dir)}", highlight=False)


@app.command()
def diagnose(run_dir: Annotated[Path, typer.Argument(help="a run folder")]) -> None:
    """The problems found in a run (gradients, dead units, overfitting, imbalance) and their remedies."""
    from neuralab.pipeline import diagnose_run

    findings = diagnose_run(run_dir)
    if not findings:
        console.print("no problems found: gradients healthy, no overfitting or label skew detected")
    for finding in findings:
        console.print(str(finding), highlight=False, markup=False)


@app.command()
def tune(
    config: Annotated[Path, typer.Argument(help="YAML run config with a `search:` section")],
    out: Annotated[Path, typer.Option(help="study folder (study.db, best.yaml, plots)")],
    trials: Annotated[int | None, typer.Option(min=1, help="trials to run (in this process)")] = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="stop starting trials after this many seconds")] = None,
    sampler: Annotated[str, typer.Option(help="tpe, random, grid or cmaes")] = "tpe",
    pruner: Annotated[str, typer.Option(help="median, halving, hyperband or none")] = "median",
    storage: Annotated[str | None, typer.Option(help="RDB URL shared by workers (default: SQLite in --out)")] = None,
    seed: int = 0,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
) -> None:
    """Search hyperparameters with Optuna; every trial is scored on validation, the best once on test."""
    from neuralab.config import deep_merge, load_yaml, parse_set
    from neuralab.tune import run_tune

    user = deep_merge(load_yaml(config), parse_set(set_ or []))
    run_tune(user, out, trials=trials, timeout=timeout, sampler=sampler, pruner=pruner, storage=storage, seed=seed,
             console=console)  # fmt: skip


@app.command("lr-find")
def lr_find(
    config: Annotated[Path | None, typer.Argument(help="YAML run config")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a config key: key.sub=value")] = None,
    dataset: Annotated[str | None, typer.Option(help="data.name")] = None,
    model: Annotated[str | None, typer.Option(help="model.name")] = None,
    steps: Annotated[int, typer.Option(min=5, help="steps of the range test")] = 100,
    out: Annotated[Path, typer.Option(help="PNG of loss against learning rate")] = Path("lr_find.png"),
) -> None:
    """Exponential learning-rate range test: plots loss against lr and suggests an lr."""
    from neuralab.pipeline import classification_config, find_lr
    from neuralab.report.plots import lr_find_png
    from neuralab.runs import atomic_write_bytes

    cfg = classification_config(_resolved(config, set_, _flag_overrides(dataset=dataset, model=model)), "lr-find")
    result = find_lr(cfg, steps=steps)
    atomic_write_bytes(out, lr_find_png(result.lrs, result.losses, result.suggestion))
    console.print(
        f"suggested lr: {result.suggestion:.2e} (set it with --set optim.lr=...); plot: {out}", highlight=False
    )


@app.command()
def explain(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    images: Annotated[list[Path] | None, typer.Argument(help="image files")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="texts, for text models (repeatable)")] = None,
    method: Annotated[
        str, typer.Option(help="gradcam, gradcam++, integrated-gradients, saliency, occlusion, lime, shap")
    ] = "gradcam",
    target: Annotated[
        str | None, typer.Option(help="class to explain (name or index); default: the predicted one")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="layer for CAM methods; default: the last spatial layer")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the overlays (default: RUN_DIR/explain)")] = None,
) -> None:
    """Explain predictions: an overlay PNG per image, or an HTML page of token attributions (--text)."""
    from neuralab.explain import explain_files

    if bool(text) == bool(images):
        raise UserError("give image files, or texts with --text (not both, not neither)")
    if text:
        from neuralab.explain.explainer import explain_texts, write_text_explanations

        explanations = explain_texts(run_dir, text, target)
        page = write_text_explanations(explanations, (out or run_dir / "explain") / "tokens.html")
        for e in explanations:
            top = sorted(zip(e.scores, e.tokens, strict=True), reverse=True)[:5]
            strongest = ", ".join(f"{t} {s:+.3f}" for s, t in top)
            console.print(f"{e.text[:50]}: predicted {e.predicted_label} {100 * e.probability:.1f}%; for "
                          f"{e.target_label}: {strongest}", highlight=False)  # fmt: skip
        console.print(f"token attributions: {page}", highlight=False)
        return
    for path, exp in explain_files(run_dir, images or [], method, target, layer, out):
        where = f" (layer {exp.layer})" if exp.layer else ""
        gap = f"; completeness gap {exp.completeness_gap:.2e}" if exp.completeness_gap is not None else ""
        console.print(
            f"{path}: predicted {exp.predicted_label} {100 * exp.probability:.1f}%, {exp.method} for "
            f"{exp.target_label}{where}{gap}",
            highlight=False,
        )


@app.command()
def serve(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    host: Annotated[str, typer.Option(help="interface to bind; 0.0.0.0 exposes it to the network")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="server processes, each with its own model copy")] = 1,
    backend: Annotated[str, typer.Option(help="torch or onnx (needs `neuralab export --format onnx` first)")] = "torch",
    max_batch: Annotated[int, typer.Option(help="most inputs per forward pass")] = 32,
    max_wait_ms: Annotated[float, typer.Option(help="how long a batch waits for more requests")] = 1.0,
    max_body_mb: Annotated[float, typer.Option(help="request body limit in MB")] = 8.0,
    max_megapixels: Annotated[float, typer.Option(help="largest image decoded, in megapixels")] = 25.0,
    threads: Annotated[int | None, typer.Option(help="torch threads per worker (default: cores / workers)")] = None,
    log_level: Annotated[str, typer.Option(help="info logs one JSON line per request")] = "info",
) -> None:
    """Serve a run over HTTP: POST /predict and /predict/batch; GET /health, /metadata, /metrics, /docs, /."""
    import os

    import uvicorn

    from neuralab.serve.app import ServeSettings, create_app
    from neuralab.serve.monitoring import configure_logging

    if workers < 1 or max_batch < 1 or max_wait_ms < 0 or max_body_mb <= 0 or max_megapixels <= 0:
        raise UserError("--workers and --max-batch must be >= 1; --max-wait-ms >= 0; size limits > 0")
    if backend not in ("torch", "onnx"):
        raise UserError(f"unknown backend {backend!r}; choose torch or onnx")
    settings = ServeSettings(
        backend=backend,  # type: ignore[arg-type]
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_pixels=int(max_megapixels * 1e6),
        threads=threads or max(1, (os.cpu_count() or 1) // workers),
    )
    configure_logging(log_level)
    err_console.print(
        f"serving {run_dir} on http://{host}:{port}  (API docs: /docs, demo page: /)", highlight=False, soft_wrap=True
    )
    if workers == 1:
        uvicorn.run(create_app(run_dir, settings), host=host, port=port, log_level="warning", access_log=False)
    else:
        create_app(run_dir, settings)  # fail here, once, with a clear message, rather than in every worker
        os.environ.update(settings.to_env(run_dir))
        uvicorn.run("neuralab.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)  # fmt: skip


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    format_: Annotated[str, typer.Option("--format", help="onnx or torchscript")] = "onnx",
    out: Annotated[Path | None, typer.Option(help="output file (default: in RUN_DIR)")] = None,
) -> None:
    """Export the model to ONNX or TorchScript and check it against PyTorch (max abs difference)."""
    from neuralab.serve.export import export_run

    result = export_run(run_dir, format_, out)  # type: ignore[arg-type]
    console.print(
        f"wrote {result.path} ({result.format}, exporter: {result.exporter}); parity on {result.parity_batch} "
        f"inputs: max abs difference in logits {result.max_abs_diff:.2e}",
        highlight=False,
    )


@app.command()
def datasets() -> None:
    """List the datasets."""
    from neuralab.data import DATASETS

    table = Table("name", "kind", "description")
    for name in DATASETS:
        info = DATASETS.get(name)
        table.add_row(name, info.kind, info.description)
    console.print(table)


@app.command()
def models(
    dataset: Annotated[str, typer.Option(help="size the models for this dataset's inputs")] = "fashion-mnist",
) -> None:
    """List the models with their parameter counts and FLOPs for a dataset's input shape."""
    from neuralab.data import DATASETS
    from neuralab.models import MODELS, create_model, summarize

    shapes = {name: DATASETS.get(name).input_shape for name in DATASETS if DATASETS.get(name).input_shape}
    if dataset not in shapes:
        raise UserError(f"--dataset must be an image dataset with a fixed size: {', '.join(shapes)}")
    image_shape = shapes[dataset]
    assert image_shape is not None
    # Image models are sized for the dataset; the others at a typical input of their kind.
    defaults = {"image": image_shape, "text": (128,), "sequence": (50, 8), "vector": (64,)}
    table = Table("name", "input", "parameters", "MFLOPs/example", "description", title=f"models ({dataset} images)")
    for name in MODELS:
        info = MODELS.get(name)
        kind = "image" if "image" in info.inputs else info.inputs[0]
        shape = defaults[kind]
        label = f"{kind} {'x'.join(map(str, shape))}"
        try:
            stats = summarize(create_model(name, shape, 10, kind), shape)
            table.add_row(name, label, f"{stats.total:,}", f"{stats.forward_flops / 1e6:.2f}", info.description)
        except UserError as err:
            table.add_row(name, label, "-", "-", f"{info.description} ({err.message})")
    _add_gan_rows(table, image_shape)
    console.print(table)


def _add_gan_rows(table: Table, shape: tuple[int, ...]) -> None:
    """The DCGAN's two nets (train --task gan), at the default gan.latent_dim and gan.width."""
    from neuralab.config import GanConfig
    from neuralab.models import summarize
    from neuralab.models.gan import Discriminator, Generator

    gan = GanConfig.model_validate({})
    label = f"image {'x'.join(map(str, shape))}"
    generator = Generator(shape, gan.latent_dim, gan.width)
    g_stats = summarize(generator.eval(), (gan.latent_dim,))
    d_stats = summarize(Discriminator(shape, gan.width).eval(), shape)
    table.add_row("dcgan generator", f"noise {gan.latent_dim}", f"{g_stats.total:,}",
                  f"{g_stats.forward_flops / 1e6:.2f}", f"DCGAN generator to {label} (train --task gan)")  # fmt: skip
    table.add_row("dcgan discriminator", label, f"{d_stats.total:,}", f"{d_stats.forward_flops / 1e6:.2f}",
                  "DCGAN discriminator: real or generated (train --task gan)")  # fmt: skip


def _add_subcommands() -> None:
    from neuralab.cli.config_cmd import app as config_app
    from neuralab.cli.scratch import app as scratch_app

    app.add_typer(scratch_app, name="scratch")
    app.add_typer(config_app, name="config")


_add_subcommands()


def _is_usage_error(exc: BaseException) -> bool:
    """click's and typer's vendored click (typer >= 0.29) raise unrelated `ClickException` classes."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(exc, "show")


def main() -> None:
    try:
        app(standalone_mode=False)
    except UserError as err:
        err_console.print(f"[bold red]error:[/] {err.message}", highlight=False)
        if err.hint:
            err_console.print(f"  hint: {err.hint}", highlight=False)
        sys.exit(2)
    except NeuralabError as err:  # e.g. a clean stop on Ctrl-C with its checkpoint written
        err_console.print(f"[bold yellow]stopped:[/] {err}", highlight=False)
        sys.exit(130 if type(err).__name__ == "TrainingInterrupted" else 1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:
        if _is_usage_error(exc):  # unknown command or option, bad value, missing argument
            exc.show()  # type: ignore[attr-defined]
            sys.exit(getattr(exc, "exit_code", 2))
        raise


if __name__ == "__main__":
    main()
