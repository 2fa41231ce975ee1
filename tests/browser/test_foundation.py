"""The site runs Python through our kernel, offline, in both page modes, and
keeps everything the stock kernel does."""

from __future__ import annotations

import base64

import jupyterlite_stream

from .driver import errors_of, text_of


def test_print_and_last_expression_in_repl(lite):
    assert text_of(lite.execute("print(1+1)")) == "2\n"
    assert text_of(lite.execute("40 + 2"), "result") == "42"


def test_page_mode_is_what_the_server_says(lite):
    assert lite.isolated == (lite.mode == "isolated")


def test_runtime_is_loaded_and_reports_its_version(lite):
    state = lite.execute("import jupyterlite_stream\njupyterlite_stream.__version__")
    assert text_of(state, "result") == repr(jupyterlite_stream.__version__)


def test_kernel_info_says_what_stop_can_do(lite):
    info = lite.kernel_info()
    assert info["implementation"] == "jupyterlite-stream"
    expected = "full" if lite.mode == "isolated" else "partial"
    assert info["interrupt_support"] == expected
    if expected == "partial":
        assert "not cross-origin isolated" in info["banner"]


def test_error_name_is_the_class_name(lite):
    state = lite.execute("1/0")
    assert errors_of(state) == ["ZeroDivisionError"]
    assert state["reply"]["ename"] == "ZeroDivisionError"
    assert state["reply"]["status"] == "error"


def test_input_and_getpass(lite):
    state = lite.execute("name = input('Your name: ')\nprint('Hello', name)", stdin="Ada")
    prompts = [m["content"]["prompt"] for m in state["iopub"] if m["type"] == "input_request"]
    assert prompts == ["Your name: "]
    assert "Hello Ada" in text_of(state)
    state = lite.execute(
        "import getpass\nsecret = getpass.getpass('pw: ')\nprint(len(secret))", stdin="abcd"
    )
    assert "4" in text_of(state)


def test_files_written_in_python_appear_in_the_drive(lite):
    name = f"written-{lite.mode}.txt"
    lite.execute(f"open({name!r}, 'w').write('from python')")
    model = lite.page.evaluate(
        "(p) => window.jupyterapp.serviceManager.contents.get(p, {content: true})"
        ".then(m => ({format: m.format, content: m.content}))",
        name,
    )
    content = model["content"]
    if model["format"] == "base64":
        content = base64.b64decode(content).decode()
    assert content == "from python"


def test_notebooks_are_readable_from_python(lite):
    state = lite.execute("import json\nprint(json.load(open('welcome.ipynb'))['nbformat'])")
    assert text_of(state) == "4\n"


def test_pip_install_of_a_bundled_wheel(lite):
    state = lite.execute("%pip install tqdm\nimport tqdm\nprint(tqdm.__version__)")
    assert errors_of(state) == []
    assert text_of(state).strip().splitlines()[-1].startswith("4.")


def test_completion_and_inspection(lite):
    lite.execute("zebra_count = 3")
    reply = lite.page.evaluate("""() => window.jupyterapp.shell.currentWidget.sessionContext
        .session.kernel.requestComplete({code: 'zebra_c', cursor_pos: 7}).then(r => r.content)""")
    assert "zebra_count" in reply["matches"]
    reply = lite.page.evaluate("""() => window.jupyterapp.shell.currentWidget.sessionContext
        .session.kernel.requestInspect({code: 'len', cursor_pos: 3, detail_level: 0})
        .then(r => r.content)""")
    assert reply["found"] is True
    assert "Return the number of items" in reply["data"]["text/plain"]


def test_rich_display_and_display_updates(lite):
    state = lite.execute(
        "from IPython.display import HTML, display\n"
        "h = display(HTML('<b>first</b>'), display_id=True)\n"
        "h.update(HTML('<b>second</b>'))"
    )
    kinds = [
        (m["type"], m["content"]["data"].get("text/html"))
        for m in state["iopub"]
        if m["type"] in ("display_data", "update_display_data")
    ]
    assert kinds == [("display_data", "<b>first</b>"), ("update_display_data", "<b>second</b>")]
    ids = {
        m["content"]["transient"]["display_id"]
        for m in state["iopub"]
        if m["type"] in ("display_data", "update_display_data")
    }
    assert len(ids) == 1


def test_comms_round_trip(lite):
    lite.execute(
        "from pyodide_kernel.comm import get_comm_manager\n"
        "def _echo(comm, msg):\n"
        "    comm.on_msg(lambda m: comm.send({'echo': m['content']['data']['x']}))\n"
        "get_comm_manager().register_target('echo_target', _echo)"
    )
    reply = lite.page.evaluate("""() => new Promise((resolve) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const comm = k.createComm('echo_target');
        comm.onMsg = (msg) => resolve(msg.content.data);
        comm.open().done.then(() => comm.send({x: 7}));
        setTimeout(() => resolve(null), 20000);
    })""")
    assert reply == {"echo": 7}


def test_notebook_app_runs_cells_from_content(fresh_lite):
    for mode in ("isolated", "plain"):
        page = fresh_lite(mode)
        page.open_notebook("welcome.ipynb")
        nb = page.page
        # the first code cell is `print(1 + 1)`, the next ends with an expression
        nb.locator(".jp-Cell.jp-CodeCell .cm-content").first.click()
        nb.keyboard.press("Shift+Enter")
        nb.keyboard.press("Shift+Enter")
        outputs = nb.locator(".jp-CodeCell .jp-OutputArea-output")
        outputs.filter(has_text="2").first.wait_for(timeout=60_000)
        nb.locator(
            ".jp-OutputArea-output", has_text=f"'{jupyterlite_stream.__version__}'"
        ).wait_for(timeout=60_000)
        first = nb.locator(".jp-CodeCell").first.locator(".jp-OutputArea-output")
        assert first.inner_text().strip() == "2"


def test_isolated_mode_never_hangs(fresh_lite):
    page = fresh_lite("isolated")
    page.open_repl()
    runs = [page.start(f"print({i} * 2)") for i in range(50)]
    for i, run in enumerate(runs):
        state = run.wait(timeout_ms=60_000)
        assert state["reply"]["status"] == "ok", state["reply"]
        assert text_of(state) == f"{i * 2}\n"
