"""Build-time pages for the docs site (run by mkdocs-gen-files during `mkdocs build`).

The README stays the one source of the capability pages: each page is one or more of its sections,
cut at their headings, so the site and the README never disagree. The references are generated from
the schema, the commands and the registries (neuralab.cli.reference).
"""

from __future__ import annotations

import re
from pathlib import Path

import mkdocs_gen_files

from neuralab.cli.reference import cli_reference, config_reference, datasets_reference, models_reference

ROOT = Path(__file__).resolve().parent.parent

# page -> (title, README sections in order); a section is named by the start of its heading.
README_PAGES: dict[str, tuple[str, list[str]]] = {
    "tune.md": ("Hyperparameter and architecture search", ["Hyperparameter search"]),
    "distributed.md": ("Several processes, several machines", ["Several processes"]),
    "experiments.md": ("Experiments", ["Experiments"]),
    "diagnose.md": ("When training goes wrong", ["When training goes wrong"]),
    "text.md": ("Text", ["Text"]),
    "regression.md": ("Regression", ["Regression"]),
    "forecasting.md": ("Forecasting", ["Forecasting"]),
    "explain.md": ("Explaining predictions", ["Explaining"]),
    "transfer.md": ("Transfer learning", ["Transfer learning"]),
    "ssl.md": ("Self-supervised learning", ["Learning without labels"]),
    "gan.md": ("Generating images (GAN)", ["Generating images"]),
    "federated.md": ("Federated learning (Flower)", ["Federated learning"]),
    "serve.md": ("Serving a model", ["Serving a model"]),
    "run-folder.md": ("The run folder", ["The run folder"]),
    "keras.md": ("Keras code on PyTorch", ["Keras code"]),
    "python.md": ("Python API, by example", ["Python"]),
    "measured.md": ("Measured figures", ["Measured"]),
    "notebooks.md": ("Notebooks (中文)", ["Notebooks"]),
}

# README links that point into the repository, and where they live on the site.
LINKS = {"README.zh-CN.md": "zh/index.md", "notebooks/": "notebooks.md", "docs/": ""}


def readme_sections(text: str, intro_only: bool = False) -> dict[str, str]:
    """Markdown under each `##`/`###` heading (outside code blocks), keyed by the heading's text.

    A section runs to the next heading of its level or higher, so it holds its subsections; with
    `intro_only` it stops at the first heading of any level (a chapter's opening paragraphs).
    """
    lines = text.splitlines()
    headings: list[tuple[int, int, str]] = []  # (line, level, title)
    fenced = False
    for number, line in enumerate(lines):
        fenced ^= line.startswith("```")
        match = re.match(r"(#{2,4}) (.+)", line) if not fenced else None
        if match:
            headings.append((number, len(match.group(1)), match.group(2).strip()))
    sections: dict[str, str] = {}
    for index, (number, level, title) in enumerate(headings):
        later = headings[index + 1 :]
        ends = [n for n, lv, _ in later if intro_only or lv <= level]
        body = lines[number + 1 : ends[0] if ends else len(lines)]
        sections[title] = "\n".join(body).strip() + "\n"
    return sections


def for_the_site(body: str) -> str:
    """Deeper headings move up one level (the section is now a page) and repository links are rewritten."""
    body = re.sub(r"^####(#*) ", r"##\1 ", body, flags=re.MULTILINE)
    for old, new in LINKS.items():
        body = body.replace(f"]({old}", f"]({new}")
    return body


def section(sections: dict[str, str], start: str) -> str:
    matches = [title for title in sections if title.startswith(start)]
    if len(matches) != 1:
        raise SystemExit(f"docs: README section {start!r} matched {matches or 'nothing'}")
    return for_the_site(sections[matches[0]])


def zh(body: str) -> str:
    """A Chinese page lives one folder down: its links to English pages and the repository climb out."""
    body = body.replace("](README.md", "](../index.md").replace("](notebooks/", "](../notebooks.md")
    return re.sub(r"^(#+) ", lambda m: "#" * max(2, len(m.group(1))) + " ", body, flags=re.MULTILINE)


def notebook_list() -> str:
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    return "\n".join(f"- `notebooks/{name}`" for name in names)


def main() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = readme_sections(readme)
    for page, (title, starts) in README_PAGES.items():
        body = "\n".join(section(sections, start) for start in starts)
        if page == "notebooks.md":
            body += "\n## The notebooks\n\n" + notebook_list() + "\n"
        with mkdocs_gen_files.open(page, "w") as out:
            out.write(f"# {title}\n\n{body}")
        mkdocs_gen_files.set_edit_path(page, "../README.md")
    with mkdocs_gen_files.open("tour.md", "w") as out:
        out.write("# A tour of the CLI\n\n" + section(readme_sections(readme, intro_only=True), "Using it"))
    chinese = readme_sections((ROOT / "README.zh-CN.md").read_text(encoding="utf-8"))
    pages = {
        "zh/index.md": ("开始使用", "两条命令", "学习笔记本"),
        "zh/tour.md": ("五分钟上手", "五分钟上手", "功能索引"),
    }
    for page, (title, first, second) in pages.items():
        with mkdocs_gen_files.open(page, "w") as out:
            out.write(f"# {title}\n\n{zh(section(chinese, first))}\n## {second}\n\n{zh(section(chinese, second))}")
    generated = {
        "reference/config.md": config_reference(),
        "reference/cli.md": cli_reference(),
        "reference/datasets.md": "# Datasets\n\n`neuralab datasets` lists the same.\n\n" + datasets_reference(),
        "reference/models.md": "# Models\n\n`neuralab models` adds parameters and FLOPs.\n\n" + models_reference(),
    }
    for page, text in generated.items():
        with mkdocs_gen_files.open(page, "w") as out:
            out.write(text + "\n")


main()
