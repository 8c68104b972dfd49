"""report.html: one self-contained page (images inlined as base64) summarising a run folder."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from neuralab.errors import UserError
from neuralab.records import read_findings, read_json, read_metrics, read_summary
from neuralab.report.errors import explained_errors, most_confused, pair_examples
from neuralab.report.plots import confusion_png, curves_png, thumbnails_png
from neuralab.report.regression import forecast_sections, regression_sections
from neuralab.report.ssl import ssl_probe_section
from neuralab.runs import RunPaths, atomic_write_text


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _per_class_table(per_class: dict[str, dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
        f"<td>{m['f1']:.3f}</td><td>{m['support']}</td></tr>"
        for name, m in per_class.items()
    )
    return f"<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>"


def _headline(test: dict[str, Any], summary: dict[str, Any]) -> str:
    what = f"{html.escape(summary['model'])} on {html.escape(summary['dataset'])}"
    if summary.get("task") == "forecast":
        naive = test["baselines"]["naive"]["mase"]
        return (f"<p>{what}, forecasting {html.escape(', '.join(summary['targets']))}: test MASE "
                f"<b>{test['mase']:.3f}</b> (naive {naive:.3f}), MAE {test['mae']:.4g}.</p>")  # fmt: skip
    if summary.get("task") == "regress":
        return (f"<p>{what}, predicting {html.escape(', '.join(summary['targets']))}: test RMSE "
                f"<b>{test['rmse']:.4g}</b>, R² {test['r2']:.3f}.</p>")  # fmt: skip
    return f"<p>{what}: test accuracy <b>{100 * test['accuracy']:.2f}%</b>, macro-F1 {100 * test['macro_f1']:.2f}%.</p>"


def _metrics_table(test: dict[str, Any], summary: dict[str, Any]) -> str:
    if summary.get("task") == "forecast":
        first = [(f"test {k.upper()}", f"{test[k]:.4g}") for k in ("mae", "rmse", "mase")]
        first += [(f"{name.replace('_', ' ')} forecast", ", ".join(f"{k.upper()} {v:.4g}" for k, v in b.items()))
                  for name, b in test["baselines"].items()]  # fmt: skip
        first.append(("MASE scale", f"the training span's mean |y(t) - y(t-{test['mase_season']})|"))
    elif summary.get("task") == "regress":
        baseline = test["mean_baseline"]
        first = [
            ("test RMSE", f"{test['rmse']:.4g} (predicting the training mean: {baseline['rmse']:.4g})"),
            ("test MAE", f"{test['mae']:.4g} (predicting the training mean: {baseline['mae']:.4g})"),
            ("test R²", f"{test['r2']:.3f}"),
            ("test loss (standardised targets)", f"{test['loss']:.4f}"),
        ]
    else:
        first = [
            ("test accuracy", f"{100 * test['accuracy']:.2f}%"),
            ("test macro-F1", f"{100 * test['macro_f1']:.2f}%"),
            ("test balanced accuracy", f"{100 * test['balanced_accuracy']:.2f}%"),
            ("test loss", f"{test['loss']:.4f}"),
        ]
    rows = [
        *first,
        ("best validation epoch", f"{summary['best']['epoch']} of {summary['epochs_run']}"),
        ("training time", f"{summary['train_seconds']:.1f} s ({summary['train_images_per_s']:.0f} images/s)"),
        ("parameters", f"{summary['parameters']['trainable']:,} trainable, {summary['parameters']['frozen']:,} frozen"),
        ("device / precision", f"{summary['device']} / {summary['precision']}"),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def _error_analysis(run_dir: Path, test: dict[str, Any], classes: list[str], trust_code: bool) -> list[str]:
    pairs = most_confused(test["confusion_matrix"], classes)
    if not pairs:
        return ["<h2>Most-confused classes</h2><p>No test example was misclassified.</p>"]
    examples = pair_examples(run_dir, pairs, classes)
    parts = ["<h2>Most-confused classes</h2><table><tr><th>true</th><th>predicted as</th><th>count</th>"
             "<th>share of the true class</th><th>examples (most confident first)</th></tr>"]  # fmt: skip
    for pair in pairs:
        images = examples.get((pair.true, pair.predicted))
        cell = (
            _img(thumbnails_png(images, f"{pair.true} → {pair.predicted}"), f"{pair.true} as {pair.predicted}")
            if images is not None
            else ""
        )
        parts.append(
            f"<tr><td>{html.escape(pair.true)}</td><td>{html.escape(pair.predicted)}</td><td>{pair.count}</td>"
            f"<td>{100 * pair.share_of_true:.1f}%</td><td>{cell}</td></tr>"
        )
    parts.append("</table>")
    gallery, method = explained_errors(run_dir, trust_code=trust_code)
    if gallery:
        figures = "".join(
            f"<figure>{_img(item.png, f'test #{item.test_index}: {item.true} predicted as {item.predicted}')}"
            f"<figcaption>test #{item.test_index}</figcaption></figure>"
            for item in gallery
        )
        parts.append(
            f"<h2>Misclassified test examples</h2><p>The {len(gallery)} most confident mistakes, each with "
            f"its {html.escape(str(method))} map for the predicted class: where the model looked when it "
            f"went wrong.</p><div class='gallery'>{figures}</div>"
        )
    return parts


def write_report(run_dir: Path, trust_code: bool = False) -> Path:
    """Write `report.html` into the run folder from its files; returns its path."""
    paths = RunPaths(Path(run_dir))
    summary = read_summary(paths.summary)
    card = read_json(paths.model_json)
    if not isinstance(card, dict):
        raise UserError(f"{paths.model_json} must hold a JSON object, not a {type(card).__name__}")
    test = summary.get("test")
    if not test:
        raise UserError(
            f"{paths.root} was never evaluated on the test split (a tuning trial, or a model saved from Python "
            "before any model.evaluate call)",
            hint=f"`neuralab evaluate {paths.root}` computes it; retrain the config to get a report; from Python, "
            "call model.evaluate(x_test, y_test) before model.save(...)",
        )
    try:
        page = _page(paths, summary, card, test, trust_code)
    except KeyError as err:  # the types were checked on reading; a field this kind of run always has is not there
        raise UserError(
            f"the records in {paths.root} lack the field {err} that its report needs",
            hint="summary.json, model.json and findings.json are written by training: retrain to rewrite them",
        ) from None
    target = paths.root / "report.html"
    atomic_write_text(target, page)
    return target


def _classes(card: dict[str, Any], confusion: list[list[int]], model_json: Path) -> list[str]:
    """The class names, which must name every row and column of the confusion matrix."""
    classes = card.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise UserError(f"{model_json}: `classes` must be a list of names")
    if len(confusion) != len(classes) or any(len(row) != len(classes) for row in confusion):
        raise UserError(
            f"{model_json} names {len(classes)} classes, but the test confusion matrix in summary.json is not "
            f"{len(classes)}x{len(classes)}"
        )
    return classes


def _page(
    paths: RunPaths, summary: dict[str, Any], card: dict[str, Any], test: dict[str, Any], trust_code: bool
) -> str:
    regression = summary.get("task") in ("regress", "forecast")
    sections = [f"<h1>{html.escape(paths.root.name)}</h1>"]
    if summary.get("task") == "ssl":
        sections.append(ssl_probe_section(summary))
    else:
        sections += [_headline(test, summary), "<h2>Final metrics</h2>" + _metrics_table(test, summary)]
    if paths.metrics.exists():
        sections.append("<h2>Training curves</h2>" + _img(curves_png(read_metrics(paths.metrics)), "training curves"))
    findings_path = paths.root / "findings.json"
    if findings_path.exists():
        items = "".join(
            f"<li><b>{html.escape(f['kind'])}</b> at {html.escape(f['where'])}: {html.escape(f['evidence'])}"
            + "<ul>"
            + "".join(f"<li>{html.escape(r)}</li>" for r in f["remedies"])
            + "</ul></li>"
            for f in read_findings(findings_path)
        )
        sections.append("<h2>Diagnosis</h2>" + (f"<ul>{items}</ul>" if items else "<p>No problems found.</p>"))
    if summary.get("task") == "forecast":
        sections += forecast_sections(paths.root, _img)
    elif regression:
        sections += regression_sections(paths.root, summary, _img)
    elif summary.get("task") == "ssl":
        pass  # no classes were predicted: the probe above is the result
    else:
        confusion = test["confusion_matrix"]
        classes = _classes(card, confusion, paths.model_json)
        sections += [
            "<h2>Confusion matrix (test)</h2>" + _img(confusion_png(confusion, classes), "confusion matrix"),
            *_error_analysis(paths.root, test, classes, trust_code),
            "<h2>Per class (test)</h2>" + _per_class_table(test["per_class"]),
        ]
    config_text = paths.config.read_text(encoding="utf-8") if paths.config.is_file() else "(config.yaml is missing)"
    sections += [
        "<h2>Config</h2><pre>" + html.escape(config_text) + "</pre>",
        "<h2>Reproducibility</h2><pre>"
        + html.escape(
            json.dumps({k: summary.get(k) for k in ("reproducibility", "versions", "device", "precision")}, indent=2)
        )
        + "</pre>",
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>neuralab report: {html.escape(paths.root.name)}</title><link rel='icon' href='data:,'>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
        "table.kv th{text-align:left;background:#f6f6f6}.gallery{display:flex;flex-wrap:wrap;gap:6px}"
        "figure{margin:0;text-align:center;font-size:12px;color:#555}"
        "pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )
