"""Automatic checkpoints (issue 16), in the notebook app as a student uses it:
run cells, wait for the checkpoint, reload (or close the tab, or kill the
kernel), answer the restore dialog, and find everything back.

The checkpoint settings are those a teacher puts in jupyter-lite.json
(`litePluginSettings["jupyterlite-stream:state"]`); each test serves the
site's own jupyter-lite.json with them added, so one build serves all.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from .notebook import answer, dialog, make_notebook, run_all, run_new_cell

SETUP = [
    "import sqlite3\n"
    "db = sqlite3.connect(':memory:')\n"
    "db.execute('create table pupils (name text, score int)')\n"
    "db.executemany('insert into pupils values (?, ?)', [('Ada', 12), ('Grace', 15)])\n"
    "db.commit()",
    "scores = {'Ada': [12, 14], 'Grace': [15]}\n"
    "level = 3\n"
    "def best(d):\n    return max(d, key=lambda k: max(d[k]))\n"
    "with open('/home/pyodide/notes.txt', 'w') as f:\n    f.write('remember me')",
]
CHECK = (
    "print(sorted(scores), level, best(scores),\n"
    "      db.execute('select sum(score) from pupils').fetchone()[0],\n"
    "      open('/home/pyodide/notes.txt').read())"
)
RESTORED = "['Ada', 'Grace'] 3 Grace 27 remember me"
FRESH = "print('fresh', 'scores' in dir())"
#: what the restore dialog says of SETUP's state
SUMMARY = re.compile(r"3 variables, 1 database, 1 file")

#: the records of the checkpoint store (see checkpointstore.ts)
_ABOUT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('jupyterlite-stream-checkpoints', 1);
  open.onupgradeneeded = () => { open.transaction.abort(); resolve([]); };
  open.onerror = () => resolve([]);
  open.onsuccess = () => {
    const db = open.result;
    const get = db.transaction('about').objectStore('about').getAll();
    get.onsuccess = () => { db.close(); resolve(get.result); };
    get.onerror = () => reject(get.error);
  };
})"""

#: put `value` in place of the record of `path` in one of the stores
_SPOIL = """([path, what, value]) => new Promise((resolve, reject) => {
  const open = indexedDB.open('jupyterlite-stream-checkpoints', 1);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(['about', 'data'], 'readwrite');
    const about = tx.objectStore('about');
    about.getAll().onsuccess = (ev) => {
      const info = ev.target.result.find((i) => i.path === path);
      if (what === 'data') {
        tx.objectStore('data').put(new TextEncoder().encode(value), info.dataKey);
      } else {
        about.put(value, info.key);
      }
    };
    tx.oncomplete = () => { db.close(); resolve(); };
    tx.onerror = () => reject(tx.error);
  };
})"""


def checkpoint_page(fresh_lite, settings: dict | None = None, mode: str = "isolated"):
    """A new browser profile on the site, its jupyter-lite.json served with
    these checkpoint settings added."""
    page = fresh_lite(mode)
    wanted = {"checkpointDelayMs": 300, **(settings or {})}

    def with_settings(route):
        response = route.fetch()
        config = json.loads(response.text())
        data = config.setdefault("jupyter-config-data", {})
        data.setdefault("litePluginSettings", {})["jupyterlite-stream:state"] = wanted
        route.fulfill(response=response, body=json.dumps(config))

    page.context.route(f"{page.base}jupyter-lite.json", with_settings)
    page.page.on("dialog", lambda d: d.accept())  # "leave the page?" on reload
    page.open_repl()
    return page


def checkpoints(page) -> list[dict]:
    return page.page.evaluate(_ABOUT)


def wait_checkpoint(page, path: str, after: float = 0, timeout_s: float = 60) -> dict:
    """The checkpoint of `path` once one newer than `after` is stored."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [i for i in checkpoints(page) if i.get("path") == path]
        if found and found[0]["created"] > after:
            return found[0]
        page.page.wait_for_timeout(200)
    raise AssertionError(f"no checkpoint of {path}: {page.console[-20:]}")


def checkpointed_notebook(page, path: str) -> dict:
    """A notebook of SETUP's cells, run, and its first checkpoint."""
    make_notebook(page, path, SETUP)
    run_all(page)
    return wait_checkpoint(page, path)


def reopen(page, path: str) -> None:
    page.page.reload()
    page.wait_kernel_idle()


def restore_from_dialog(page) -> str:
    found = dialog(page, "Restore the session of")
    text = found.inner_text()
    answer(found, "Restore")
    page.page.locator(".jp-toast-message", has_text="restored").wait_for(timeout=60_000)
    return text


@pytest.mark.parametrize("mode", ["isolated", "plain"])
def test_reload_restores_variables_database_file_and_function(fresh_lite, mode):
    page = checkpoint_page(fresh_lite, mode=mode)
    info = checkpointed_notebook(page, "recover.ipynb")
    assert (info["variables"], info["databases"], info["files"]) == (3, 1, 1)
    reopen(page, "recover.ipynb")
    text = restore_from_dialog(page)
    assert SUMMARY.search(text), text
    assert run_new_cell(page, CHECK).strip() == RESTORED


def test_restore_is_the_default_button_and_start_fresh_keeps_it(fresh_lite):
    page = checkpoint_page(fresh_lite)
    checkpointed_notebook(page, "fresh.ipynb")
    reopen(page, "fresh.ipynb")
    found = dialog(page, "Restore the session of")
    default = found.locator("button.jp-mod-accept")
    assert default.inner_text() == "Restore"
    answer(found, "Start fresh")
    assert run_new_cell(page, FRESH).strip() == "fresh False"
    # still there: the Kernel menu's command restores it later
    page.page.evaluate(
        "() => { window.jupyterapp.commands.execute('jupyterlite-stream:restore-checkpoint'); }"
    )
    restore_from_dialog(page)
    assert run_new_cell(page, CHECK).strip() == RESTORED


def test_dont_ask_again_for_this_notebook(fresh_lite):
    page = checkpoint_page(fresh_lite)
    checkpointed_notebook(page, "never.ipynb")
    reopen(page, "never.ipynb")
    answer(dialog(page, "Restore the session of"), "Don’t ask again for this notebook")
    reopen(page, "never.ipynb")
    page.page.wait_for_timeout(2000)
    assert page.page.locator(".jp-Dialog").count() == 0
    assert run_new_cell(page, FRESH).strip() == "fresh False"


def test_auto_mode_restores_silently(fresh_lite):
    page = checkpoint_page(fresh_lite, {"restore": "auto"})
    checkpointed_notebook(page, "auto.ipynb")
    reopen(page, "auto.ipynb")
    page.page.locator(".jp-toast-message", has_text="restored").wait_for(timeout=60_000)
    assert page.page.locator(".jp-Dialog").count() == 0
    assert run_new_cell(page, CHECK).strip() == RESTORED


def test_closed_tab_during_a_long_cell_brings_back_the_state_before_it(fresh_lite):
    page = checkpoint_page(fresh_lite)
    checkpointed_notebook(page, "long.ipynb")
    page.page.evaluate(
        """() => { const nb = window.jupyterapp.shell.currentWidget.content;
          nb.model.sharedModel.insertCell(2, {cell_type: 'code',
            source: 'level = 99\\nimport time\\ntime.sleep(60)'});
          nb.activeCellIndex = 2;
          window.jupyterapp.commands.execute('notebook:run-cell'); }"""
    )
    page.page.wait_for_timeout(1500)
    page.page.close()
    page.page = page.context.new_page()
    page.page.on("dialog", lambda d: d.accept())
    page.open_notebook("long.ipynb")
    restore_from_dialog(page)
    assert run_new_cell(page, CHECK).strip() == RESTORED


def test_dead_kernel_offers_the_last_checkpoint(fresh_lite):
    page = checkpoint_page(fresh_lite)
    checkpointed_notebook(page, "dies.ipynb")
    # a wasm trap: memory access out of bounds kills Pyodide for good
    run_new_cell(page, "import ctypes\nctypes.string_at(0xFFFFFFF0, 64)")
    found = dialog(page, "The kernel died")
    assert "Your notebook is safe" in found.inner_text()
    answer(found, "Restart and restore")
    page.page.locator(".jp-toast-message", has_text="restored").wait_for(timeout=120_000)
    assert run_new_cell(page, CHECK).strip() == RESTORED


def test_two_notebooks_each_restore_their_own(fresh_lite):
    page = checkpoint_page(fresh_lite)
    make_notebook(page, "first.ipynb", ["who = 'first'"])
    run_all(page)
    other = page.context.new_page()
    other.on("dialog", lambda d: d.accept())
    first_page, page.page = page.page, other
    page.open_repl()
    make_notebook(page, "second.ipynb", ["who = 'second'"])
    run_all(page)
    wait_checkpoint(page, "first.ipynb")
    wait_checkpoint(page, "second.ipynb")
    for tab, name in [(first_page, "first"), (other, "second")]:
        page.page = tab
        reopen(page, f"{name}.ipynb")
        restore_from_dialog(page)
        assert run_new_cell(page, "print(who)").strip() == name


@pytest.mark.parametrize("what", ["data", "about"])
def test_corrupted_checkpoint_a_clear_message_and_a_fresh_kernel(fresh_lite, what):
    page = checkpoint_page(fresh_lite)
    checkpointed_notebook(page, "broken.ipynb")
    page.page.evaluate(_SPOIL, ["broken.ipynb", what, "not a checkpoint"])
    reopen(page, "broken.ipynb")
    if what == "data":  # the record reads: the dialog comes, the restore fails
        answer(dialog(page, "Restore the session of"), "Restore")
    found = dialog(page, "The checkpoint cannot be restored")
    assert "damaged" in found.inner_text() and "starts fresh" in found.inner_text()
    answer(found, "Close")
    assert run_new_cell(page, FRESH).strip() == "fresh False"
    cells = page.page.evaluate(
        "window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.length"
    )
    assert cells == len(SETUP) + 1  # the notebook itself is untouched
    assert [i for i in checkpoints(page) if i.get("path") == "broken.ipynb"] == []


def test_full_storage_the_student_is_told_and_nothing_breaks(fresh_lite):
    page = checkpoint_page(fresh_lite)
    before = checkpointed_notebook(page, "full.ipynb")
    # the disk is full from now on: every write of checkpoint bytes is refused
    page.page.evaluate(
        """() => { const put = IDBObjectStore.prototype.put;
          IDBObjectStore.prototype.put = function (...args) {
            if (this.name === 'data') {
              throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
            }
            return put.apply(this, args);
          }; }"""
    )
    assert run_new_cell(page, "level = 4\nprint(level)").strip() == "4"
    toast = page.page.locator(".jp-toast-message", has_text="storage is full")
    toast.wait_for(timeout=30_000)
    assert "Export Kernel State" in toast.inner_text()
    assert run_new_cell(page, "level = 5\nprint(level)").strip() == "5"
    page.page.wait_for_timeout(2000)
    assert toast.count() == 1  # told once
    after = next(i for i in checkpoints(page) if i["path"] == "full.ipynb")
    assert after == before  # the last good checkpoint is kept


def test_over_the_cap_the_student_is_told_once(fresh_lite):
    page = checkpoint_page(fresh_lite, {"maxCheckpointMB": 1})
    make_notebook(page, "big.ipynb", ["import random\nbig = random.randbytes(3 * 2**20)"])
    run_all(page)
    toast = page.page.locator(".jp-toast-message", has_text="over the checkpoint limit")
    toast.wait_for(timeout=30_000)
    assert "Export Kernel State" in toast.inner_text()
    run_new_cell(page, "big = big + b'x'")
    page.page.wait_for_timeout(2000)
    assert toast.count() == 1
    assert checkpoints(page) == []


def test_checkpoints_off_nothing_is_written(fresh_lite):
    page = checkpoint_page(fresh_lite, {"checkpoints": False})
    make_notebook(page, "off.ipynb", SETUP)
    run_all(page)
    run_new_cell(page, "level = 4")
    page.page.wait_for_timeout(3000)
    assert checkpoints(page) == []
    assert not any("checkpoint of" in line for line in page.console)


def test_delete_checkpoints_from_the_kernel_menu(fresh_lite):
    page = checkpoint_page(fresh_lite)
    checkpointed_notebook(page, "delete.ipynb")
    label = page.page.evaluate(
        "window.jupyterapp.commands.label('jupyterlite-stream:delete-checkpoints')"
    )
    assert re.fullmatch(r"Delete Checkpoints \(\d+ KB\)…", label), label
    page.page.evaluate(
        "() => { window.jupyterapp.commands.execute('jupyterlite-stream:delete-checkpoints'); }"
    )
    answer(dialog(page, "Delete all checkpoints?"), "Delete")
    assert checkpoints(page) == []


def test_a_cell_cuts_a_60_mb_checkpoint_short_and_starts_at_once(fresh_lite):
    page = checkpoint_page(fresh_lite)
    make_notebook(
        page,
        "large.ipynb",
        ["MiB = 2**20"]
        + [
            "import random\n"
            + "\n".join(f"part{i} = random.randbytes(10 * MiB)" for i in range(6))
        ],
    )
    delays: list[float] = []
    for _attempt in range(6):  # a cut needs the request to land while one runs
        start = len(page.console)
        run_all(page)
        deadline = time.monotonic() + 60
        while not any("of large.ipynb started" in line for line in page.console[start:]):
            assert time.monotonic() < deadline, page.console
            page.page.wait_for_timeout(5)
        run = page.start("print('quick')")
        assert "quick" in "".join(
            m["content"].get("text", "") for m in run.wait()["iopub"] if m["type"] == "stream"
        )
        page.page.wait_for_timeout(500)
        delays += [
            float(re.search(r"started ([\d.]+) ms after", line).group(1))
            for line in page.console[start:]
            if "was cut short" in line
        ]
        if len(delays) >= 3:
            break
    assert delays, page.console
    print(f"cell start after cutting a 60 MB checkpoint short (ms): {delays}")
    # The cell did not wait for the checkpoint (a whole 60 MB one takes
    # 0.5 s and more): a loose bound on the median of three, far from the
    # usual few ms on a busy 2-core machine; the exact figures (issue 16's
    # p95 <= 50 ms) are bench/checkpoint.py's.
    assert sorted(delays)[len(delays) // 2] < 250, delays


def test_the_status_bar_says_what_is_saved_and_how_large(fresh_lite):
    """JupyterLab's status bar (the lab app; the notebook app has none)."""
    page = checkpoint_page(fresh_lite, {"maxCheckpointMB": 1})
    make_notebook(page, "status.ipynb", SETUP)
    page.page.goto(f"{page.base}lab/index.html?path=status.ipynb")
    page.wait_kernel_idle()
    item = page.page.locator(".jp-stream-CheckpointStatus")
    assert not item.is_visible()  # nothing saved yet
    run_all(page)
    info = wait_checkpoint(page, "status.ipynb")
    kb = max(1, round(info["size"] / 1024))
    item.get_by_text(re.compile(rf"^Saved \S.* · {kb} KB$")).wait_for(timeout=10_000)
    item.click()
    answer(dialog(page, "Restore the session of"), "Start fresh")
    run_new_cell(page, "import random\nbig = random.randbytes(3 * 2**20)")
    item.get_by_text("Checkpoint too large: use Export").wait_for(timeout=30_000)
