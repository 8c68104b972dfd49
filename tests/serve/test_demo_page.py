"""The demo page in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.serve.conftest import Server, png_bytes

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


def test_drop_an_image_and_see_the_top_classes(server: Server, tmp_path: Path, digit_images) -> None:
    from playwright.sync_api import sync_playwright

    image, _ = digit_images[0]
    path = tmp_path / "digit.png"
    path.write_bytes(png_bytes(image))
    expected = server.client.post("/predict", files={"file": ("d.png", path.read_bytes(), "image/png")}).json()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server.url + "/")
            page.wait_for_function("document.getElementById('meta').textContent.includes('classes')")
            page.set_input_files("#file", str(path))
            page.wait_for_selector("#top tr")
            rows = page.locator("#top tr").all_inner_texts()
            assert len(rows) == 5
            assert rows[0].startswith(expected["class"])
            assert page.locator("#preview").evaluate("img => img.complete && img.naturalWidth > 0")
            page.wait_for_selector("#camfig:not([hidden])")  # the Grad-CAM overlay from /explain
            assert page.locator("#cam").evaluate("img => img.complete && img.naturalWidth > 100")
            assert expected["class"] in page.locator("#camcap").inner_text()

            page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
            page.wait_for_function("document.getElementById('error').textContent.includes('415')")
        finally:
            browser.close()
    assert not [e for e in errors if "415" not in e], errors  # the refused upload logs its 415; nothing else
