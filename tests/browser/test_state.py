"""Export the kernel's state to a file and import it back, in the notebook app."""

from __future__ import annotations

import pytest

from .driver import text_of
from .notebook import make_notebook, run_all

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


@pytest.fixture(scope="module")
def state_page(browser, servers, tmp_path_factory):
    from .conftest import _new_lite

    page = _new_lite(browser, servers, "isolated")
    page.open_repl()
    make_notebook(page, "state-demo.ipynb", SETUP)
    run_all(page)
    page.files = tmp_path_factory.mktemp("state-files")
    # our kernel object, as the Export/Import commands reach it
    # (the kernel manager's client is our StreamKernelClient)
    page.page.evaluate("""() => { window.__jlsKernel = (id) =>
        window.jupyterapp.serviceManager.kernels._kernelAPIClient.getModel(id); }""")
    yield page
    page.context.close()
    assert page.blocked == []


def restart_kernel(page) -> None:
    page.page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    page.page.wait_for_timeout(500)
    page.wait_kernel_idle()


def run_command(page, command: str) -> None:
    """Start a command without waiting for it (its dialogs and the file picker
    wait for the user)."""
    page.page.evaluate(
        "(c) => { setTimeout(() => window.jupyterapp.commands.execute(c), 0); }", command
    )


#: call a method of our kernel object (the one behind the notebook) from the page
KERNEL_CALL = """async ([method, bytes, trust]) => {
  const app = window.jupyterapp;
  const id = app.shell.currentWidget.sessionContext.session.kernel.id;
  const kernel = await window.__jlsKernel(id);
  const data = new Uint8Array(bytes);
  const key = localStorage.getItem('jupyterlite-stream:state-signing-key');
  const call = method === 'preview' ? kernel.previewState(data, key)
                                    : kernel.restoreState(data, trust, key);
  return Promise.race([call.then(r => ({ok: r}), e => ({error: String(e.message || e)})),
                       new Promise(r => setTimeout(() => r({error: 'timeout'}), 30000))]);
}"""


def kernel_call(page, method: str, data: bytes, trust: bool = False) -> dict:
    return page.page.evaluate(KERNEL_CALL, [method, list(data), trust])


def test_export_restart_import_brings_everything_back(state_page):
    page = state_page
    with page.page.expect_download() as download:
        page.page.locator(
            "jp-button[data-command='jupyterlite-stream:export-state']"
        ).first.click()
    name = download.value.suggested_filename
    assert name.startswith("state-demo-state-") and name.endswith(".zip")
    saved = page.files / name
    download.value.save_as(saved)
    # what cannot be saved is shown, not dropped: the closed file `f`
    skipped = page.page.locator(".jp-Dialog", has_text="could not be saved")
    skipped.wait_for(timeout=30_000)
    assert "f:" in skipped.inner_text()
    skipped.get_by_role("button", name="Ok").click()

    restart_kernel(page)
    assert text_of(page.execute("print('scores' in globals())")) == "False\n"

    data = saved.read_bytes()
    preview = kernel_call(page, "preview", data)["ok"]
    assert {v["name"] for v in preview["variables"]} >= {"scores", "best", "db"}
    assert preview["trusted"] is True  # signed with this browser's key
    report = kernel_call(page, "restore", data)["ok"]
    assert set(report["restored"]) >= {"scores", "best", "db"}

    state = page.execute(CHECK)
    assert text_of(state) == "['Ada', 'Grace'] Grace 27 remember me\n"


def test_broken_file_is_refused_and_keeps_the_variables(state_page):
    page = state_page
    page.execute("kept = 'still here'")
    result = kernel_call(page, "restore", b"PK\x03\x04 this is not really a zip file")
    assert "zip" in result["error"].lower()
    assert text_of(page.execute("print(kept)")) == "still here\n"


def test_export_is_refused_while_a_cell_runs(state_page):
    page = state_page
    run = page.start("import time\ntime.sleep(3)")
    page.page.wait_for_timeout(500)
    run_command(page, "jupyterlite-stream:export-state")
    dialog = page.page.locator(".jp-Dialog", has_text="A cell is running")
    dialog.wait_for(timeout=10_000)
    dialog.get_by_role("button").first.click()
    run.wait(10_000)
