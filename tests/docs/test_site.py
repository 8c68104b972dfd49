"""The docs site builds in strict mode, and its references list exactly what neuralab accepts."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuralab.cli.reference import _commands
from neuralab.config.keys import list_keys
from neuralab.config.schema import TASKS

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("mkdocs_gen_files", reason="pip install -e '.[dev]' (mkdocs and its plugins)")

CAPABILITY_PAGES = ["train", "data", "models", "text", "tune", "diagnose", "explain", "report", "serve",
                    "export", "transfer", "gan", "scratch", "tour", "zh", "zh/tour"]  # fmt: skip


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def page_text(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


def test_every_capability_has_a_page(site: Path) -> None:
    for page in CAPABILITY_PAGES:
        assert (site / page / "index.html").is_file(), page
    assert "Total params: 93,322" in page_text(site, "keras")  # a README section, cut to its page


def test_the_config_reference_lists_every_key_of_every_task(site: Path) -> None:
    text = page_text(site, "reference/config")
    tables = re.split(r'<h2 id="task-', text)[1:]
    assert len(tables) == len(TASKS)
    for chunk in tables:
        task = chunk.split('"', 1)[0]
        listed = [html.unescape(k) for k in re.findall(r"<tr>\s*<td><code>([^<]+)</code></td>", chunk)]
        assert listed == [row.key for row in list_keys(task)], task


def test_the_cli_reference_lists_every_command(site: Path) -> None:
    import typer

    from neuralab.cli.main import app

    text = page_text(site, "reference/cli")
    headings = [html.unescape(h) for h in re.findall(r"<h2 id=\"[^\"]+\">([^<]+)<", text)]
    expected = [path for path, _ in _commands(typer.main.get_command(app), "neuralab")]
    assert headings == expected
    assert "--trust-code" in text and "Example" not in text  # the examples are shown as commands


def test_the_api_reference_renders_docstring_examples(site: Path) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", "", page_text(site, "reference/api")))  # code is highlighted
    assert "The training loop for your own models" in text and ">>> trainer.evaluate(" in text


def test_a_broken_link_in_the_readme_fails_the_build(tmp_path: Path) -> None:
    for name in ("mkdocs.yml", "README.md", "README.zh-CN.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("src", "notebooks"):
        (tmp_path / name).symlink_to(ROOT / name)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("### Explaining\n", "### Explaining\n\nSee [this](nowhere.md).\n"))
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "nowhere.md" in done.stderr
