"""`jupyterlite-stream init FOLDER`: a ready course folder for a teacher.

It holds the notebooks (`content/`), the site's `jupyter-lite.json`, the
Python packages the build needs (`requirements.txt`) and a GitHub Actions
workflow that builds the site and publishes it on GitHub Pages at every push
to `main`. Nothing already in the folder is overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__

#: where the workflow builds the site; the Pages artifact is this folder
OUTPUT_DIR = "_output"
#: the notebooks and data files of the course
CONTENTS_DIR = "content"
STARTER_NOTEBOOK = f"{CONTENTS_DIR}/start-here.ipynb"
#: the line of the workflow that builds the site (tests run it as written)
BUILD_COMMAND = f"jupyterlite-stream build --contents {CONTENTS_DIR} --output-dir {OUTPUT_DIR}"
#: the line of requirements.txt that brings this package
PACKAGE_REQUIREMENT = f"jupyterlite-stream=={__version__}"


class ScaffoldError(Exception):
    """The folder cannot take a course (the message says why)."""


@dataclass
class ScaffoldReport:
    """What `init` wrote and what it left as it was."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def course_files(name: str) -> dict[str, str]:
    """Every file of a new course folder, by path relative to it."""
    return {
        STARTER_NOTEBOOK: _starter_notebook(),
        "jupyter-lite.json": _lite_config(name),
        "requirements.txt": REQUIREMENTS,
        ".gitignore": GITIGNORE,
        ".github/workflows/deploy.yml": WORKFLOW,
        "README.md": TEACHER_README.format(name=name, build=BUILD_COMMAND, output=OUTPUT_DIR),
    }


def init_course(folder: Path, force: bool = False) -> ScaffoldReport:
    """Write a course folder into `folder` (made if missing).

    A folder that already holds something is refused unless `force`; even
    then an existing file is never replaced, only reported as kept.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{folder} is a file, not a folder; nothing was written")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ScaffoldError(
            f"{folder} is not empty; nothing was written. Use --force to add the course "
            "files that are missing (existing files are never overwritten)."
        )
    files = course_files(_course_name(folder))
    # check every path before writing any, so that a clash leaves nothing half-done
    for rel in files:
        for parent in list(Path(rel).parents)[:-1]:
            if (folder / parent).exists() and not (folder / parent).is_dir():
                raise ScaffoldError(
                    f"{folder / parent} is a file where a folder is needed; nothing was written"
                )
    report = ScaffoldReport()
    for rel, text in files.items():
        target = folder / rel
        if target.exists():
            report.kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": a file that appeared meanwhile is still not overwritten
        with open(target, "x", encoding="utf-8", newline="\n") as out:
            out.write(text)
        report.written.append(rel)
    return report


def _course_name(folder: Path) -> str:
    """A readable site name from the folder's name (`my-course` -> `My course`)."""
    name = folder.resolve().name.replace("-", " ").replace("_", " ").strip()
    return (name[:1].upper() + name[1:]) if name else "My course"


def _lite_config(name: str) -> str:
    config = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {"appName": name},
    }
    return json.dumps(config, indent=2) + "\n"


def _starter_notebook() -> str:
    def cell(kind: str, index: int, source: str) -> dict:
        made = {"cell_type": kind, "id": f"start-{index}", "metadata": {}, "source": source}
        if kind == "code":
            made.update(outputs=[], execution_count=None)
        return made

    notebook = {
        "cells": [
            cell("markdown", 0, STARTER_INTRO),
            cell("code", 1, STARTER_CODE),
            cell("markdown", 2, STARTER_NEXT),
        ],
        "metadata": {
            "kernelspec": {"name": "python", "display_name": "Python (Pyodide)"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1) + "\n"


STARTER_INTRO = """\
# Start here

This notebook runs Python **in your browser**: nothing to install. Click a code cell
and press **Shift+Enter** to run it.

- Your changes are saved in this browser. A changed notebook is marked in the file
  browser; right-click it and choose *Reset to the Teacher's Version* to start over
  (your version is kept as a copy).
- *File → Download My Work* saves everything you changed or created in one zip file,
  to hand in.
"""

STARTER_CODE = """\
import sys

squares = [n * n for n in range(1, 11)]
print(f"Hello from Python {sys.version_info.major}.{sys.version_info.minor} in your browser!")
print("The first ten squares add up to", sum(squares))
"""

STARTER_NEXT = """\
The **Stop** button (■) stops a cell that runs too long, and your variables survive.
"""

REQUIREMENTS = f"""\
# What the site build needs (installed by .github/workflows/deploy.yml).
{PACKAGE_REQUIREMENT}
# Packages your notebooks import go below, one per line, e.g.:
# pandas
"""

GITIGNORE = f"""\
# the built site and the build's caches
{OUTPUT_DIR}/
.jupyterlite.doit.db
.cache/
__pycache__/
.venv/
.ipynb_checkpoints/
"""

WORKFLOW = f"""\
# Builds the course site from content/ and publishes it on GitHub Pages.
# One-time setup: Settings -> Pages -> Build and deployment -> Source: GitHub Actions.
name: Publish the course site

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

# one publication at a time; a newer push waits for the running one
concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-python@v6
        with:
          python-version: "3.12"
          cache: pip
          cache-dependency-path: requirements.txt
      - name: Install the site builder
        run: pip install -r requirements.txt
      - name: Build the site
        run: {BUILD_COMMAND}
      - uses: actions/upload-pages-artifact@v4
        with:
          path: {OUTPUT_DIR}

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""

TEACHER_README = """\
# {name}

The notebooks of this course, published as a website where Python runs in the
students' browsers (made with jupyterlite-stream).

## Publish it (once)

1. Put this folder in a GitHub repository and push it (branch `main`).
2. On GitHub: *Settings -> Pages -> Build and deployment -> Source*: choose **GitHub Actions**.
3. Open the *Actions* tab: the workflow *Publish the course site* builds the site (a few
   minutes). If it ran before step 2, click *Run workflow* there.
4. The site is at `https://<your-user-name>.github.io/<repository-name>/`. Send your
   students the link to a notebook:
   `https://<your-user-name>.github.io/<repository-name>/lab/index.html?path=start-here.ipynb`.

## Update it during the term

Add or edit notebooks and data files in `content/`, then commit and push: the site is
rebuilt and published by itself. A student who had already changed a notebook keeps
their version; when they open it they are told you published a new one and can open
yours (their copy is kept).

A link that always opens your version as you wrote it (their copy is never deleted
without asking): add `&fresh=1`, e.g. `.../lab/index.html?path=week-2.ipynb&fresh=1`.

## Packages

Packages your notebooks import go in `requirements.txt` (a commented line shows where).

## Try it on your computer

```bash
python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
.venv/bin/jupyterlite-stream serve --contents content --output-dir {output}
```

Then open <http://127.0.0.1:8000/lab/index.html>.

## Students hand in their work

*File -> Download My Work* in the site saves one zip with every notebook and file the
student changed or created. Students send you that file.
"""


def next_steps(folder: Path, report: ScaffoldReport) -> str:
    """What `init` tells the teacher: the files, those kept, what to do next."""
    lines = [f"Course folder {folder}:"]
    lines += [f"  wrote {rel}" for rel in report.written]
    lines += [f"  kept {rel} (already there, not changed)" for rel in report.kept]
    lines += [
        "Next: add your notebooks to content/, put the folder in a GitHub repository,",
        "choose Settings -> Pages -> Source: GitHub Actions, and push (see README.md).",
    ]
    return "\n".join(lines)
