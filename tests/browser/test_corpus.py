"""Issue 15: the course-style corpus runs in our kernel cell by cell, and every
cell gives stock JupyterLite's outcome (recorded by bench/course.py in
corpus/stock-outcomes.json) or succeeds where stock failed."""

from __future__ import annotations

import json

import pytest

from .course_corpus import STOCK_OUTCOMES, compare, notebooks, run_notebook, serve_data_files

STOCK = json.loads(STOCK_OUTCOMES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus_page(lite, site):
    serve_data_files(site)
    return lite


@pytest.mark.parametrize("lite", ["isolated"], indirect=True)
@pytest.mark.parametrize("notebook", notebooks(), ids=lambda path: path.stem)
def test_a_course_notebook_runs_as_in_stock_or_better(corpus_page, notebook):
    report = compare(notebook.name, run_notebook(corpus_page, notebook), STOCK[notebook.name])
    assert report["worse"] == []
    assert report["equal"] + report["better"] + report["known"] == report["cells"]


def test_the_corpus_covers_what_stock_cannot_do():
    """The recorded stock run fails where courses need more than stock: the
    download helper, `!` commands, and files after a failed download."""
    failed = {name: [c["error"] for c in cells if c["error"]] for name, cells in STOCK.items()}
    assert any(
        "RemoteDisconnected" in e or "URLError" in e for e in failed["01-data-and-downloads.ipynb"]
    )
    assert any("OSError" in e for e in failed["02-packages-and-shell.ipynb"])
