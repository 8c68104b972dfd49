"""Commands that read a finished run: evaluate, predict, report, diagnose, explain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuralab.cli.app import app, console, example
from neuralab.errors import UserError, require_file


@app.command(epilog=example("neuralab evaluate runs/fashion-mnist-fast_cnn-20261201-120000 --split val"))
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    split: Annotated[str, typer.Option(help="test, val or train")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
    trust_code: Annotated[
        bool, typer.Option("--trust-code", help="run the Python builder the run folder names (only for code you trust)")
    ] = False,
    precision: Annotated[
        str, typer.Option(help="bf16: the test split under bf16 against fp32 (agreement, probability change)")
    ] = "32",
) -> None:
    """Evaluate a trained run on a split: accuracy, macro-F1, per-class precision/recall, confusion matrix."""
    from neuralab.pipeline import evaluate_run

    if precision != "32":
        _bf16_parity(run_dir, precision, split, as_json)
        return
    metrics = evaluate_run(run_dir, split, trust_code)
    if as_json:
        print(json.dumps(metrics))
        return
    if metrics.get("task") == "forecast" and "mase" in metrics:
        console.print(f"{split}: MAE {metrics['mae']:.4g}, RMSE {metrics['rmse']:.4g}, MASE {metrics['mase']:.3f} "
                      f"(naive {metrics['baselines']['naive']['mase']:.3f})", highlight=False)  # fmt: skip
        return
    if metrics.get("task") in ("regress", "forecast"):
        console.print(f"{split}: RMSE {metrics['rmse']:.4g}, MAE {metrics['mae']:.4g}, R² {metrics['r2']:.3f}",
                      highlight=False)  # fmt: skip
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


@app.command(epilog=example("neuralab predict RUN_DIR shirt.png --top-k 3 (or --text, --rows, --history)"))
def predict(
    run_dir: Annotated[Path, typer.Argument(help="a run folder")],
    images: Annotated[list[Path] | None, typer.Argument(help="image files")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="a text to classify (repeatable)")] = None,
    text_file: Annotated[Path | None, typer.Option(help="a UTF-8 file: one text per line")] = None,
    rows: Annotated[Path | None, typer.Option(help="regression: a CSV of rows with the training columns")] = None,
    history: Annotated[
        Path | None, typer.Option(help="forecast: a CSV of the series; the next steps after its end are predicted")
    ] = None,
    top_k: Annotated[int, typer.Option(help="classes to show per input")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
    trust_code: Annotated[
        bool, typer.Option("--trust-code", help="run the Python builder the run folder names (only for code you trust)")
    ] = False,
) -> None:
    """Predict the class of image files, or of texts (--text, --text-file) with a text model; the values of
    table rows (--rows rows.csv) with a regression model; the next steps of a series (--history s.csv)."""
    from neuralab.pipeline import predict_images, predict_texts

    if history is not None:
        from neuralab.pipeline.table_inference import forecast_csv

        forecast = forecast_csv(run_dir, history, trust_code)
        if as_json:
            print(json.dumps(forecast))
        else:
            console.print(", ".join(f"{name} {value:.6g}" for name, value in forecast.items()), highlight=False)
        return
    if rows is not None:
        if images or text or text_file:
            raise UserError("give --rows alone (a regression model takes table rows, not images or texts)")
        _predict_rows(run_dir, rows, as_json, trust_code)
        return

    texts = list(text or [])
    if text_file is not None:
        require_file(text_file, "text file")
        try:
            lines = [line for line in text_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError as err:
            raise UserError(f"{text_file}: not UTF-8 ({err.reason})") from None
        if not lines:
            raise UserError(f"text file {text_file} holds no text (one text per line)")
        texts += lines
    if bool(texts) == bool(images):
        raise UserError("give image files, or texts with --text / --text-file (not both, not neither)")
    results = (
        predict_texts(run_dir, texts, top_k, trust_code)
        if texts
        else predict_images(run_dir, images or [], top_k, trust_code)
    )
    for row in results:
        if as_json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            best = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in row["top"])
            label = row.get("file") or (row["text"][:60] + ("…" if len(row["text"]) > 60 else ""))
            console.print(f"{label}: {best}", highlight=False)


def _predict_rows(run_dir: Path, rows: Path, as_json: bool, trust_code: bool) -> None:
    from neuralab.pipeline.table_inference import predict_csv

    result = predict_csv(run_dir, rows, trust_code)
    for column, values in result["unseen_categories"].items():
        console.print(f"[yellow]note[/] column {column!r}: {values} never appeared in training (encoded as no "
                      "category)", highlight=False)  # fmt: skip
    for column, count in result["imputed"].items():
        console.print(f"[yellow]note[/] column {column!r}: {count} missing value(s) filled as in training",
                      highlight=False)  # fmt: skip
    for number, prediction in enumerate(result["predictions"], start=1):
        if as_json:
            print(json.dumps({"row": number, **prediction}))
        else:
            cells = ", ".join(f"{name} {value:.6g}" for name, value in prediction.items())
            console.print(f"row {number}: {cells}", highlight=False)


def _explain_rows(run_dir: Path, rows: Path, out: Path | None, trust_code: bool) -> None:
    from neuralab.data.transforms import Preprocess
    from neuralab.explain.table import explain_rows
    from neuralab.pipeline.prepare_table import stored_table
    from neuralab.pipeline.table_inference import read_rows
    from neuralab.runs import atomic_write_json, load_model

    model, card = load_model(run_dir, trust_code=trust_code)
    if card.get("task") != "regress":
        raise UserError(f"{run_dir} is not a regression run; --rows explains table rows")
    encoder, scaler = stored_table(Preprocess.from_dict(card["preprocess"]))
    explanations = [e for i in range(len(scaler.names)) for e in explain_rows(model, encoder, scaler,
                                                                              read_rows(rows, card), i)]  # fmt: skip
    path = (out or run_dir / "explain") / "rows.json"
    atomic_write_json(path, [e.to_dict() for e in explanations])
    for number, e in enumerate(explanations, start=1):
        shares = sorted(e.contributions.items(), key=lambda kv: -abs(kv[1]))
        listed = ", ".join(f"{name} {value:+.4g}" for name, value in shares)
        console.print(f"row {number}: {e.target} {e.prediction:.6g} = baseline {e.baseline:.6g} + ({listed})",
                      highlight=False)  # fmt: skip
    console.print(f"written: {path}", highlight=False)


@app.command(epilog=example("neuralab report RUN_DIR"))
def report(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    trust_code: Annotated[
        bool, typer.Option("--trust-code", help="run the Python builder the run folder names (only for code you trust)")
    ] = False,
) -> None:
    """(Re)write RUN_DIR/report.html: curves, confusion matrix, per-class table, config."""
    from neuralab.report import write_report
    from neuralab.runs import check_run_dir

    check_run_dir(run_dir)
    console.print(f"report: {write_report(run_dir, trust_code)}", highlight=False)


@app.command(epilog=example("neuralab diagnose RUN_DIR"))
def diagnose(run_dir: Annotated[Path, typer.Argument(help="a run folder")]) -> None:
    """The problems found in a run (gradients, dead units, overfitting, imbalance) and their remedies."""
    from neuralab.pipeline import diagnose_run

    findings = diagnose_run(run_dir)
    if not findings:
        console.print("no problems found: gradients healthy, no overfitting or label skew detected")
    for finding in findings:
        console.print(str(finding), highlight=False, markup=False)


@app.command(epilog=example("neuralab explain RUN_DIR shirt.png --method gradcam --target Coat"))
def explain(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    images: Annotated[list[Path] | None, typer.Argument(help="image files")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="texts, for text models (repeatable)")] = None,
    rows: Annotated[Path | None, typer.Option(help="regression: a CSV of rows to explain")] = None,
    method: Annotated[
        str, typer.Option(help="gradcam, gradcam++, integrated-gradients, saliency, occlusion, lime, shap")
    ] = "gradcam",
    target: Annotated[
        str | None, typer.Option(help="class to explain (name or index); default: the predicted one")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="layer for CAM methods; default: the last spatial layer")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the overlays (default: RUN_DIR/explain)")] = None,
    trust_code: Annotated[
        bool, typer.Option("--trust-code", help="run the Python builder the run folder names (only for code you trust)")
    ] = False,
) -> None:
    """Explain predictions: an overlay PNG per image, an HTML page of token attributions (--text), or each
    column's share of a regression's predicted value (--rows rows.csv)."""
    from neuralab.explain import explain_files

    if rows is not None:
        if images or text:
            raise UserError("give --rows alone (a regression model takes table rows, not images or texts)")
        _explain_rows(run_dir, rows, out, trust_code)
        return
    if bool(text) == bool(images):
        raise UserError("give image files, or texts with --text (not both, not neither)")
    if text:
        from neuralab.explain.explainer import explain_texts, write_text_explanations

        explanations = explain_texts(run_dir, text, target, trust_code)
        page = write_text_explanations(explanations, (out or run_dir / "explain") / "tokens.html")
        for e in explanations:
            top = sorted(zip(e.scores, e.tokens, strict=True), reverse=True)[:5]
            strongest = ", ".join(f"{t} {s:+.3f}" for s, t in top)
            console.print(f"{e.text[:50]}: predicted {e.predicted_label} {100 * e.probability:.1f}%; for "
                          f"{e.target_label}: {strongest}", highlight=False)  # fmt: skip
        console.print(f"token attributions: {page}", highlight=False)
        return
    for path, exp in explain_files(run_dir, images or [], method, target, layer, out, trust_code):
        where = f" (layer {exp.layer})" if exp.layer else ""
        gap = f"; completeness gap {exp.completeness_gap:.2e}" if exp.completeness_gap is not None else ""
        console.print(
            f"{path}: predicted {exp.predicted_label} {100 * exp.probability:.1f}%, {exp.method} for "
            f"{exp.target_label}{where}{gap}",
            highlight=False,
        )


def _bf16_parity(run_dir: Path, precision: str, split: str, as_json: bool) -> None:
    """Whether serving in bf16 (`serve --precision bf16`) keeps fp32's answers, on every test image."""
    from neuralab.pipeline.parity import parity_on_test_split

    if precision != "bf16" or split != "test":
        raise UserError("--precision takes bf16, on the test split", hint="neuralab evaluate RUN_DIR --precision bf16")
    report = parity_on_test_split(run_dir, ["bf16"])
    if as_json:
        print(json.dumps(report))
        return
    bf16 = report["bf16"]
    console.print(
        f"bf16 on the {report['test_images']:,} test images: accuracy {100 * bf16['accuracy']:.2f}% (fp32 "
        f"{100 * report['fp32_accuracy']:.2f}%), top-1 agreement with fp32 {100 * bf16['top1_agreement']:.2f}%, "
        f"max probability difference {bf16['max_probability_difference']:.3g}",
        highlight=False,
    )
