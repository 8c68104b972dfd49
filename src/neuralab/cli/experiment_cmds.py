"""Commands over many runs: runs (a table of runs and groups), compare (with significance tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neuralab.cli.app import app, console, err_console, example


@app.command(epilog=example("neuralab runs runs --sort test.accuracy --desc --where model.name=fast_cnn"))
def runs(
    root: Annotated[Path, typer.Argument(help="folder holding run folders and groups")] = Path("runs"),
    sort: Annotated[
        str | None, typer.Option(help="column to sort by: test.accuracy, train_seconds, optim.lr...")
    ] = None,
    desc: Annotated[bool, typer.Option("--desc", help="sort descending (best accuracy first)")] = False,
    where: Annotated[list[str] | None, typer.Option(help="keep rows where key=value (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line per row")] = False,
) -> None:
    """List the runs and groups (train --repeats) under a folder, with their test metrics."""
    from neuralab.experiments.catalog import find_entries, select

    unreadable: list[str] = []
    rows = select(find_entries(root, unreadable), list(where or []), sort, desc)
    for reason in unreadable:
        err_console.print(f"[yellow]skipped[/] {reason}", highlight=False)
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    table = Table("name", "kind", "dataset", "model", "seeds", "test acc", "macro-F1", "RMSE / MASE", "train s",
                  "finished")  # fmt: skip
    for r in rows:
        acc, f1, secs = r["test.accuracy"], r["test.macro_f1"], r["train_seconds"]
        value = next((f"{k.upper()} {r[f'test.{k}']:.4g}" for k in ("mase", "rmse") if r.get(f"test.{k}") is not None),
                     "")  # fmt: skip
        table.add_row(r["name"], r["kind"], str(r["dataset"]), str(r["model"]), str(r["seeds"]),
                      "" if acc is None else f"{100 * acc:.2f}%", "" if f1 is None else f"{100 * f1:.2f}%", value,
                      "" if secs is None else f"{secs:.1f}", str(r["finished_at"] or ""))  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} of them under {root}", highlight=False)


@app.command(epilog=example("neuralab compare runs/baseline-x5 runs/with-augment-x5"))
def compare(
    entries: Annotated[list[Path], typer.Argument(help="runs or groups; each is compared with the first")],
    out: Annotated[Path, typer.Option(help="HTML page with the metrics, config differences and curves")] = Path(
        "comparison.html"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
) -> None:
    """Compare runs or groups: config differences, test metrics, and whether the difference is significant."""
    from neuralab.experiments.compare import compare as compare_entries
    from neuralab.experiments.compare import write_comparison_html

    result = compare_entries(entries)
    names = [e.name for e in result.entries]
    verdicts = [
        {"baseline": names[0], "challenger": e.name, "test": v.test.test if v.test else None,
         "p_value": v.test.p_value if v.test else None, "difference": v.test.difference if v.test else None,
         "significant": v.test.significant if v.test else None,
         "detail": v.test.detail if v.test else None,
         "verdict": v.test.verdict(names[0], e.name) if v.test else v.reason}
        for e, v in zip(result.entries[1:], result.verdicts, strict=True)
    ]  # fmt: skip
    page = write_comparison_html(result, out)
    if as_json:
        print(json.dumps({"entries": names, "metrics": result.metrics, "config_differences": result.config_differences,
                          "verdicts": verdicts, "html": str(page)}, default=str))  # fmt: skip
        return
    table = Table("", *names)
    for metric, values in result.metrics.items():
        table.add_row(f"test {metric}", *["" if v is None else f"{v:.4f}" for v in values])
    for key, values in result.config_differences.items():
        table.add_row(key, *[str(v) for v in values])
    console.print(table)
    for v in verdicts:
        console.print(f"[bold]{v['challenger']}[/] vs {v['baseline']}: {v['verdict']}", highlight=False)
    console.print(f"comparison: {page}", highlight=False)
