"""Export the kernel's state to a file and import it back, in the notebook app,
as a user does: the toolbar buttons, the download, the browser's file picker
and the dialogs.

The picker is answered with Playwright's `expect_file_chooser`. The click that
opens it must not wait for the command: the command only ends after a file was
chosen and its dialogs answered, so awaiting it (say, `page.evaluate` of
`app.commands.execute(...)`) inside `expect_file_chooser` blocks forever, before
`set_files` can run. A locator click returns once the click is dispatched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .notebook import answer, dialog, make_notebook, run_all, run_new_cell

SETUP = [
    "import sqlite3\n"
    "db = sqlite3.connect(':memory:')\n"
    "db.execute('create table pupils (name text, score int)')\n"
    "db.executemany('insert into pupils values (?, ?)', [('Ada', 12), ('Grace', 15)])\n"
    "db.commit()",
    "scores = {'Ada': [12, 14], 'Grace': [15]}\n"
    "def best(d):\n    return max(d, key=lambda k: max(d[k]))\n"
    "with open('/home/pyodide/notes.txt', 'w') as f:\n    f.write('remember me')",
]

CHECK = (
    "print(sorted(scores), best(scores),\n"
    "      db.execute('select sum(score) from pupils').fetchone()[0],\n"
    "      open('/home/pyodide/notes.txt').read())"
)
RESTORED = "['Ada', 'Grace'] Grace 27 remember me"

EXPORT_BUTTON = "jp-button[data-command='jupyterlite-stream:export-state']"
IMPORT_BUTTON = "jp-button[data-command='jupyterlite-stream:import-state']"
SIGNING_KEY = "jupyterlite-stream:state-signing-key"
REPORT = re.compile(r"Restored (\d+) variables and (\d+) files, skipped (\d+)\.")


@pytest.fixture(scope="module")
def state_page(browser, servers, tmp_path_factory):
    from .conftest import _new_lite

    page = _new_lite(browser, servers, "isolated")
    page.open_repl()
    make_notebook(page, "state-demo.ipynb", SETUP)
    run_all(page)
    page.files = tmp_path_factory.mktemp("state-files")
    yield page
    page.context.close()
    assert page.blocked == []


@pytest.fixture(scope="module")
def saved_state(state_page) -> tuple[Path, str]:
    """The state exported with the toolbar button: the downloaded file, and
    the text of the dialog listing what could not be saved."""
    page = state_page
    with page.page.expect_download() as download:
        page.page.locator(EXPORT_BUTTON).first.click()
    name = download.value.suggested_filename
    assert name.startswith("state-demo-state-") and name.endswith(".zip")
    path = page.files / name
    download.value.save_as(path)
    skipped = dialog(page, "could not be saved")
    text = skipped.inner_text()
    answer(skipped, "Ok")
    return path, text


def choose_file(page, path: Path) -> None:
    """Click Import Kernel State and pick `path` in the file picker it opens."""
    with page.page.expect_file_chooser(timeout=10_000) as chooser:
        page.page.locator(IMPORT_BUTTON).first.click()
    chooser.value.set_files(path)


def restart_kernel(page) -> None:
    page.page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    page.page.wait_for_timeout(500)
    page.wait_kernel_idle()


def report_counts(found) -> tuple[int, int, int]:
    """(variables, files, skipped) of the "State imported" dialog."""
    match = REPORT.search(found.inner_text())
    assert match, found.inner_text()
    return tuple(int(n) for n in match.groups())


def test_export_restart_import_brings_everything_back(state_page, saved_state):
    page = state_page
    saved, skipped = saved_state
    # what cannot be saved is shown, not dropped: the closed file `f`
    assert "f:" in skipped

    restart_kernel(page)
    assert run_new_cell(page, "print('scores' in globals(), 'db' in globals())") == "False False\n"

    choose_file(page, saved)
    preview = dialog(page, f"Import state from {saved.name}?")
    text = preview.inner_text()
    assert "exported from this browser" in text  # signed with this browser's key
    for line in (
        "scores (dict, json)",
        "best (function, pickle-code)",
        "db (sqlite3.Connection, sqlite)",
    ):
        assert line in text
    assert "notes.txt (11 bytes)" in text
    assert "Packages" not in text  # none installed (cloudpickle is the kernel's own)
    # a file from this browser needs no trust: nothing to tick
    assert preview.locator("input[type=checkbox]").count() == 0
    answer(preview, "Restore")

    report = dialog(page, "State imported")
    variables, files, skipped_count = report_counts(report)
    assert (variables, files, skipped_count) == (4, 1, 1)  # sqlite3 db scores best; notes.txt; f
    assert "f: not saved in the file" in report.inner_text()
    answer(report, "Ok")

    assert run_new_cell(page, CHECK) == RESTORED + "\n"


def test_a_file_from_another_browser_asks_before_loading_code(state_page, saved_state):
    """Without this browser's signature, functions load only when the user
    ticks the box; plain data is restored either way."""
    page = state_page
    saved, _ = saved_state
    own_key = page.page.evaluate("(k) => localStorage.getItem(k)", SIGNING_KEY)
    page.page.evaluate("(k) => localStorage.setItem(k, 'another browser')", SIGNING_KEY)
    try:
        restart_kernel(page)
        choose_file(page, saved)
        preview = dialog(page, f"Import state from {saved.name}?")
        assert "exported from this browser" not in preview.inner_text()
        trust = preview.locator("label.jp-stream-state-trust")
        assert "only do this for files from someone you trust" in trust.inner_text()
        answer(preview, "Restore")  # box not ticked
        report = dialog(page, "State imported")
        assert "best: needs trust: this object runs code when loaded" in report.inner_text()
        answer(report, "Ok")
        assert run_new_cell(page, "print(sorted(scores), 'best' in globals())") == (
            "['Ada', 'Grace'] False\n"
        )

        choose_file(page, saved)
        preview = dialog(page, f"Import state from {saved.name}?")
        preview.locator("label.jp-stream-state-trust input[type=checkbox]").check()
        answer(preview, "Restore")
        report = dialog(page, "State imported")
        assert "needs trust" not in report.inner_text()
        answer(report, "Ok")
        assert run_new_cell(page, CHECK) == RESTORED + "\n"
    finally:
        page.page.evaluate("([k, v]) => localStorage.setItem(k, v)", [SIGNING_KEY, own_key])


@pytest.mark.parametrize("broken", ["random bytes", "truncated export"])
def test_a_broken_file_shows_the_error_and_keeps_the_variables(state_page, saved_state, broken):
    page = state_page
    saved, _ = saved_state
    run_new_cell(
        page, "kept = 'still here'\ndb.execute(\"insert into pupils values ('Alan', 9)\")"
    )
    data = saved.read_bytes()
    path = page.files / f"{broken.replace(' ', '-')}.zip"
    path.write_bytes(os.urandom(4096) if broken == "random bytes" else data[: len(data) // 2])

    choose_file(page, path)
    error = dialog(page, "This state file cannot be imported")
    text = error.inner_text()
    assert "not a state file (not a zip, or truncated)" in text
    assert "Nothing was changed." in text
    answer(error, "Close")

    assert run_new_cell(page, "print(kept, sorted(scores))") == "still here ['Ada', 'Grace']\n"
    rows = run_new_cell(page, "print(db.execute('select name from pupils').fetchall())")
    assert "('Alan',)" in rows


def test_import_is_refused_while_a_cell_runs(state_page):
    """No file picker while a cell runs: the user is told why."""
    page = state_page
    run = page.start("import time\ntime.sleep(3)")
    page.page.wait_for_timeout(500)
    chosen: list = []

    def picker_opened(chooser) -> None:
        chosen.append(chooser)

    page.page.on("filechooser", picker_opened)
    page.page.locator(IMPORT_BUTTON).first.click()
    found = dialog(page, "A cell is running", 10_000)
    answer(found, "Close")
    run.wait(10_000)
    page.page.remove_listener("filechooser", picker_opened)
    assert chosen == []


def test_export_is_refused_while_a_cell_runs(state_page):
    page = state_page
    run = page.start("import time\ntime.sleep(3)")
    page.page.wait_for_timeout(500)
    page.page.locator(EXPORT_BUTTON).first.click()
    found = dialog(page, "A cell is running", 10_000)
    answer(found, "Close")
    run.wait(10_000)


def _hostile_file(page, name: str) -> Path:
    """Issue 13 in the browser: class 1 (an import of a module with a side
    effect, `print` bound to `os.system`) or class 2 (a data pickle whose
    BUILD targets `pathlib.PurePath` itself), next to plain data."""
    from tests.runtime.state.hostile_cases import build_on_class, state_file

    plain = ({"name": "plain", "storage": "json"}, b"41")
    if name == "class-1":
        variables = [
            plain,
            ({"name": "zen", "storage": "module-import", "module": "this"}, None),
            (
                {"name": "print", "storage": "module-import", "module": "os", "attr": "system"},
                None,
            ),
        ]
    else:
        code = (
            {"name": "fn", "storage": "pickle-code"},
            build_on_class("fractions", "Fraction", "__add__"),
        )
        data = (
            {"name": "p", "storage": "pickle-data"},
            build_on_class("pathlib", "PurePath", "__str__"),
        )
        variables = [plain, code, data]
    path = page.files / f"{name}.zip"
    path.write_bytes(state_file(variables))
    return path


KERNEL_PROBE = (
    "import sys, pathlib, fractions\n"
    "print('this' in sys.modules,\n"
    "      print is __builtins__.print if hasattr(__builtins__, 'print') else True,\n"
    "      str(pathlib.PurePath('/a', 'b')), fractions.Fraction(1, 3) + 1, 'plain' in globals())"
)


@pytest.mark.parametrize("name", ["class-1", "class-2"])
def test_a_hostile_file_says_what_needs_trust_and_runs_nothing(state_page, name):
    page = state_page
    restart_kernel(page)
    before = run_new_cell(page, KERNEL_PROBE)
    assert before == "False True /a/b 4/3 False\n"
    choose_file(page, _hostile_file(page, name))
    preview = dialog(page, f"Import state from {name}.zip?")
    text = preview.inner_text()
    assert "Needs trust: loading these runs code from the file" in text
    if name == "class-1":
        assert "zen: a module import (importing runs the module)" in text
        assert "print: a module import (importing runs the module)" in text
    else:
        assert "fn: an object whose loading runs code" in text
    assert "only do this for files from someone you trust" in text
    answer(preview, "Restore")  # box not ticked
    if name == "class-1":
        report = dialog(page, "State imported")
        assert "zen: needs trust: importing a module runs its code" in report.inner_text()
        answer(report, "Ok")
        assert run_new_cell(page, KERNEL_PROBE) == "False True /a/b 4/3 True\n"
    else:
        error = dialog(page, "State import failed")
        assert "Nothing was changed." in error.inner_text()
        answer(error, "Close")
        assert run_new_cell(page, KERNEL_PROBE) == before
