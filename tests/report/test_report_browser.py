"""report.html with error analysis, checked in a real headless browser (Debian's chromium + Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuralab.report.errors import most_confused
from tests.conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_most_confused_pairs_are_ranked() -> None:
    pairs = most_confused([[5, 1, 0], [4, 3, 2], [0, 0, 9]], ["a", "b", "c"], top=2)
    assert [(p.true, p.predicted, p.count) for p in pairs] == [("b", "a", 4), ("b", "c", 2)]
    assert pairs[0].share_of_true == pytest.approx(4 / 9)
    assert most_confused([[3, 0], [0, 3]], ["a", "b"]) == []


def test_report_command_rewrites_the_full_report(digits_run: Path) -> None:
    report = digits_run / "report.html"
    report.unlink()
    result = run_cli("report", str(digits_run))
    assert result.returncode == 0, result.stderr
    page = report.read_text(encoding="utf-8")
    for heading in ("Final metrics", "Training curves", "Diagnosis", "Confusion matrix", "Per class", "Config"):
        assert heading in page
    assert (digits_run / "errors.safetensors").is_file()
    if "No test example was misclassified" not in page:
        assert "Most-confused classes" in page and "Misclassified test examples" in page
    assert report.stat().st_mode & 0o044  # readable by others, as a normal file would be


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_renders_in_chromium_with_every_image_loaded(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    # Two epochs of digits leave enough mistakes to fill every section.
    result = run_cli("train", "--dataset", "digits", "--epochs", "2", "--out", str(tmp_path), "--name", "r")
    assert result.returncode == 0, result.stderr
    report = tmp_path / "r" / "report.html"
    page_text = report.read_text(encoding="utf-8")
    assert "Misclassified test examples" in page_text and "Most-confused classes" in page_text
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: errors.append(f"failed: {req.url[:80]}"))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            images = page.locator("img")
            count = images.count()
            assert count >= 5  # curves, confusion matrix, confused-pair examples, gallery
            loaded = images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
            assert all(loaded), loaded
            headings = page.locator("h2").all_inner_texts()
            assert "Misclassified test examples" in headings and "Final metrics" in headings
        finally:
            browser.close()
    assert errors == []
