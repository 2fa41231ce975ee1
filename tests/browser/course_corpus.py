"""A course-style corpus (tests/browser/corpus/): notebooks written the way
public Python courses write them, run cell by cell in a kernel, and the rule
that compares our kernel with stock JupyterLite's.

`bench/course.py` runs the corpus in both sites and records stock's outcomes
(corpus/stock-outcomes.json); `test_corpus.py` runs it in ours and holds each
cell to the rule: the same outcome as stock, or success where stock failed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .driver import LitePage

CORPUS = Path(__file__).parent / "corpus"
STOCK_OUTCOMES = CORPUS / "stock-outcomes.json"
#: the data file the notebooks download, served by the site under files/
DATA_FILES = ["grades.csv"]
#: what the student types at an `input()` prompt
STDIN = "Sam"

#: stock's kernel names an error by its class's repr: "<class 'sqlite3.DatabaseError'>"
_CLASS_REPR = re.compile(r"^<class '(?:[\w.]*\.)?(\w+)'>$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")
#: the cell's file name in warnings (each kernel names its cells its own way)
_CELL_FILE = re.compile(r"(/tmp/xpython_\d+/\d+\.py|<ipython-input-[\d-]+>|<cell line: \d+>):\d+")


#: (notebook, cell) -> why ours differs from stock there, and is not worse
KNOWN_DIFFERENCES = {
    ("02-packages-and-shell.ipynb", 1): "stock prints tqdm's TqdmMonitorWarning (a browser "
    "has no threads for tqdm's monitor); ours turns the monitor off",
}


def notebooks() -> list[Path]:
    return sorted(CORPUS.glob("*.ipynb"))


def code_cells(notebook: Path) -> list[str]:
    data = json.loads(notebook.read_text(encoding="utf-8"))
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in data["cells"]
        if cell["cell_type"] == "code"
    ]


def serve_data_files(site: Path) -> None:
    """Put the corpus' data files where the notebooks fetch them."""
    target = site / "files" / "corpus"
    target.mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        shutil.copy(CORPUS / name, target / name)


def _normal(text: str) -> str:
    return _CELL_FILE.sub("<cell>", _ADDRESS.sub("0x…", _ANSI.sub("", text))).strip()


def outcome(state: dict) -> dict:
    """What a student sees of one cell: its printed text, its result and its
    error (name and message; tracebacks differ in frames only)."""
    out, result, error = [], [], None
    for msg in state["iopub"]:
        content = msg["content"]
        if msg["type"] == "stream":
            out.append(content["text"])
        elif msg["type"] in ("execute_result", "display_data"):
            result.append(content["data"].get("text/plain", ""))
        elif msg["type"] == "error":
            ename = _CLASS_REPR.sub(r"\1", content["ename"])
            error = f"{ename}: {_normal(content['evalue'])}"
    if state["reply"] is None:
        error = "no reply"
    return {"out": _normal("".join(out)), "result": _normal("\n".join(result)), "error": error}


def run_notebook(page: LitePage, notebook: Path, timeout_ms: int = 60_000) -> list[dict]:
    """Every code cell of `notebook`, in order, in a fresh kernel (a new REPL)."""
    page.open_repl()
    return [
        outcome(page.start(code, stdin=STDIN).wait(timeout_ms)) for code in code_cells(notebook)
    ]


def compare(notebook: str, ours: list[dict], stock: list[dict]) -> dict:
    """Count the cells: equal, ours succeeds where stock fails, a known
    difference, and worse (anything else: listed with both outcomes)."""
    counts = {"cells": len(ours), "equal": 0, "better": 0, "known": 0, "worse": []}
    for index, (mine, theirs) in enumerate(zip(ours, stock, strict=True)):
        if mine == theirs:
            counts["equal"] += 1
        elif theirs["error"] is not None and mine["error"] is None:
            counts["better"] += 1
        elif (notebook, index) in KNOWN_DIFFERENCES:
            counts["known"] += 1
        else:
            counts["worse"].append({"cell": index, "ours": mine, "stock": theirs})
    return counts
