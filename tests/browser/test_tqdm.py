"""tqdm line mode and coalesced output streaming in our kernel, in the browser."""

from __future__ import annotations

import pytest

from .driver import errors_of, text_of
from .test_interrupt import wait_until_running

LINE_MESSAGES = ("display_data", "update_display_data")

#: run code in the REPL's prompt cell, as a user pressing Shift+Enter would
_RUN_IN_CONSOLE = """async (code) => {
  const console_ = window.jupyterapp.shell.currentWidget.console;
  console_.promptCell.model.sharedModel.setSource(code);
  await window.jupyterapp.commands.execute('console:run-forced');
  const cells = console_.cells;
  const cell = cells.get(cells.length - 1);
  return Array.from(cell.node.querySelectorAll('.jp-OutputArea-output'), (o) => o.innerText);
}"""


def run_in_console(lite, code: str) -> list[str]:
    """The texts of the outputs of the executed cell, as shown."""
    return lite.page.evaluate(_RUN_IN_CONSOLE, code)


def streams_of(state: dict) -> list[dict]:
    return [m["content"] for m in state["iopub"] if m["type"] == "stream"]


def lines_of(state: dict) -> dict[str, list[str]]:
    """The text/plain of each bar's line, by display id, in order."""
    lines: dict[str, list[str]] = {}
    for m in state["iopub"]:
        if m["type"] in LINE_MESSAGES:
            display_id = m["content"]["transient"]["display_id"]
            lines.setdefault(display_id, []).append(m["content"]["data"]["text/plain"])
    return lines


def test_the_console_shows_one_line_per_bar(lite):
    code = (
        "from tqdm import tqdm, trange\n"
        "for epoch in trange(3, desc='epochs'):\n"
        "    for batch in tqdm(range(20_000), desc='batches', leave=False):\n"
        "        pass\n"
        "for i in tqdm(range(1000), desc='single'):\n"
        "    pass\n"
    )
    outputs = run_in_console(lite, code)
    shown = [text.strip() for text in outputs if text.strip()]
    assert len(shown) == 2, outputs
    assert shown[0].startswith("epochs: 100%") and "3/3" in shown[0]
    assert shown[1].startswith("single: 100%") and "1000/1000" in shown[1]
    assert all("\n" not in text for text in shown)
    # the inner bars drew on one line, left empty at the end
    assert len(outputs) == 3
    assert "TqdmMonitorWarning" not in "".join(outputs)


def test_a_long_loop_is_a_few_updates_of_one_line(lite):
    state = lite.execute(
        "from tqdm.auto import tqdm\nfor i in tqdm(range(1_000_000)):\n    pass\n",
        timeout_ms=120_000,
    )
    assert errors_of(state) == []
    [texts] = lines_of(state).values()
    kinds = [m["type"] for m in state["iopub"] if m["type"] in LINE_MESSAGES]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}
    assert "100%" in texts[-1] and "1000000/1000000" in texts[-1]
    seconds = state["tReply"] / 1000
    assert len(texts) <= 10 * seconds + 5
    assert streams_of(state) == [], "no \\r fragments, no TqdmMonitorWarning"


def test_every_import_path_without_warnings(lite):
    code = (
        "import tqdm, tqdm.auto, tqdm.notebook, tqdm.autonotebook, tqdm.asyncio\n"
        "for make in (tqdm.tqdm, tqdm.auto.tqdm, tqdm.notebook.tqdm,\n"
        "             tqdm.autonotebook.tqdm, tqdm.notebook.tnrange):\n"
        "    for i in make(3 if make is tqdm.notebook.tnrange else range(3)):\n"
        "        pass\n"
        "async def numbers():\n"
        "    for i in range(3):\n"
        "        yield i\n"
        "[i async for i in tqdm.asyncio.tqdm(numbers(), total=3)]\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == []
    lines = lines_of(state)
    assert len(lines) == 6
    assert all(texts[-1].startswith("100%|") for texts in lines.values())
    assert streams_of(state) == [], [s["text"] for s in streams_of(state)]


def test_write_prints_and_a_broken_loop_stops_its_line(lite):
    code = (
        "from tqdm import tqdm\n"
        "for i in tqdm(range(100)):\n"
        "    if i == 3:\n"
        "        tqdm.write('three')\n"
        "    if i == 45:\n"
        "        raise ValueError('stop')\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == ["ValueError"]
    assert text_of(state) == "three\n"
    [texts] = lines_of(state).values()
    assert " 45/100 " in texts[-1] and texts[-1].startswith(" 45%")


def test_a_print_loop_is_coalesced_and_complete(lite):
    code = (
        "from jupyterlite_stream.runtime import output_limit\n"
        "kept = output_limit()\n"
        "output_limit(lines=None, chars=None)\n"
        "for i in range(100_000):\n    print(i)\n"
        "output_limit(**kept);"
    )
    state = lite.execute(code, timeout_ms=120_000)
    messages = streams_of(state)
    assert len(messages) < 1000, len(messages)
    assert text_of(state) == "".join(f"{i}\n" for i in range(100_000))


def test_a_long_print_loop_shows_its_first_lines_and_a_note(lite):
    state = lite.execute("for i in range(100_000):\n    print(i)\n", timeout_ms=120_000)
    assert text_of(state) == "".join(f"{i}\n" for i in range(10_000))
    notes = [
        m["content"]["data"]["text/plain"]
        for m in state["iopub"]
        if m["type"] in ("display_data", "update_display_data")
    ]
    assert notes[-1].startswith("output limited: 90,000 more lines (")
    assert "write it to a file" in notes[-1]


def test_stdout_and_stderr_keep_their_order(lite):
    code = (
        "import sys\n"
        "for block in range(20):\n"
        "    stream = sys.stderr if block % 2 else sys.stdout\n"
        "    for i in range(50):\n"
        "        print(block, i, file=stream)\n"
    )
    state = lite.execute(code)
    runs: list[list[str]] = []  # consecutive messages of one stream, joined
    for message in streams_of(state):
        if runs and runs[-1][0] == message["name"]:
            runs[-1][1] += message["text"]
        else:
            runs.append([message["name"], message["text"]])
    received = [(name, line) for name, text in runs for line in text.splitlines()]
    expected = [
        ("stderr" if block % 2 else "stdout", f"{block} {i}")
        for block in range(20)
        for i in range(50)
    ]
    assert received == expected


def test_output_order_around_displays_and_input(lite):
    code = (
        "print('a')\nprint('b')\ndisplay('c')\nprint('d')\n"
        "answer = input('e? ')\nprint('f', answer)\n"
    )
    state = lite.execute(code, stdin="yes")
    shown = []
    for m in state["iopub"]:
        if m["type"] == "stream":
            shown.append(m["content"]["text"])
        elif m["type"] == "display_data":
            shown.append(m["content"]["data"]["text/plain"])
        elif m["type"] == "input_request":
            shown.append(m["content"]["prompt"])
    assert "".join(shown) == "a\nb\n'c'd\ne? f yes\n"
    assert shown.index("'c'") < shown.index("e? ")


def test_flush_sends_at_once(lite):
    code = (
        "import sys, time\n"
        "print('early')\nprint('now')\nsys.stdout.flush()\n"
        "end = time.monotonic() + 1.5\n"
        "while time.monotonic() < end:\n"
        "    pass\n"
        "print('late')\n"
    )
    state = lite.execute(code)
    arrivals = [(m["t"], m["content"]["text"]) for m in state["iopub"] if m["type"] == "stream"]
    now_at = next(t for t, text in arrivals if "now" in text)
    assert now_at < state["tReply"] - 1000, arrivals


@pytest.mark.parametrize("lite", ["isolated"], indirect=True)  # a busy loop needs isolation
def test_output_printed_before_an_interrupt_is_kept(lite):
    code = "for i in range(5):\n    print('line', i)\nwhile True:\n    pass\n"
    run = lite.start(code)
    wait_until_running(lite, run)
    lite.interrupt()
    state = run.wait(timeout_ms=10_000)
    assert errors_of(state) == ["KeyboardInterrupt"]
    assert text_of(state) == "".join(f"line {i}\n" for i in range(5))
    kinds = [m["type"] for m in state["iopub"]]
    assert max(i for i, k in enumerate(kinds) if k == "stream") < kinds.index("error")


def test_the_demo_notebook_saves_one_clean_line_per_bar(fresh_lite):
    page = fresh_lite("isolated")
    page.open_notebook("progress-bars.ipynb")
    nb = page.page
    nb.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # the cell that raises stops "run all": run the rest from the next cell on
    nb.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.toJSON().cells"
        ".some((c) => (c.outputs || []).some((o) => o.output_type === 'error'))",
        timeout=60_000,
    )
    page.wait_kernel_idle()
    cells = nb.evaluate("window.jupyterapp.shell.currentWidget.content.model.toJSON().cells")
    code = [c for c in cells if c["cell_type"] == "code"]
    simple, nested, data, write, broken = code[:5]
    for cell in (simple, nested, data, write, broken):
        texts = [text for _, text in outputs_of(cell, "display_data")]
        assert all("\r" not in t and "\n" not in t for t in texts), texts
        assert [name for name, _ in outputs_of(cell, "stream")] in ([], ["stdout"]), cell
    assert [text[:4] for _, text in outputs_of(simple, "display_data")] == ["100%"]
    nested_texts = [text for _, text in outputs_of(nested, "display_data")]
    assert nested_texts[0].startswith("epochs: 100%") and nested_texts[1:] == [""]
    assert [text for _, text in outputs_of(write, "stream")] == [
        "".join(f"loaded {n}.csv\n" for n in "abcd")
    ]
    [(_, stopped)] = outputs_of(broken, "display_data")
    assert stopped.startswith(" 42%") and " 42/100 " in stopped
    assert broken["outputs"][-1]["output_type"] == "error"


def outputs_of(cell: dict, output_type: str) -> list[tuple[str, str]]:
    """(stream name or "", text) of a saved cell's outputs of one type."""
    found = []
    for output in cell["outputs"]:
        if output["output_type"] != output_type:
            continue
        text = output["text"] if output_type == "stream" else output["data"]["text/plain"]
        found.append((output.get("name", ""), "".join(text)))
    return found
