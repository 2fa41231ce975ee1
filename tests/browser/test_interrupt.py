"""Stop really stops: every kind of blocking raises KeyboardInterrupt promptly
and the kernel keeps its variables (isolated pages); on pages that are not
isolated, what can be stopped is stopped and the user is told about the rest."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .driver import errors_of, text_of

BLOCKING = {
    "busy loop": "while True:\n    pass",
    "time.sleep": "import time\ntime.sleep(600)",
    "awaited coroutine": "import asyncio\nawait asyncio.sleep(600)",
    "awaited task": "import asyncio\nasync def slow():\n    await asyncio.sleep(600)\n"
    "await asyncio.gather(slow())",
    "pending input": "input('waiting: ')",
    "loop inside except Exception": "while True:\n    try:\n        sum(range(100))\n"
    "    except Exception:\n        pass",
    "sum of a generator": "def count():\n    n = 0\n    while True:\n        yield n\n"
    "        n += 1\nsum(count())",
    "print flood": "i = 0\nwhile True:\n    print(i)\n    i += 1",
    "long-line flood": "while True:\n    print('x' * 5000)",
    "tqdm loop": "from tqdm import tqdm\nimport time\nfor i in tqdm(range(10**9)):\n"
    "    time.sleep(0.001)",
    "display flood": "import itertools\nfor i in itertools.count():\n    display(i)",
    "huge repr": "from collections import namedtuple\nRow = namedtuple('Row', 'n square')\n"
    "print([Row(n, n * n) for n in range(1_000_000)])",
}
#: what a page without SharedArrayBuffer can stop
STOPPABLE_WITHOUT_ISOLATION = {"awaited coroutine", "awaited task", "pending input"}


def wait_until_running(lite, run):
    """The cell has started (its status went busy) and had time to block."""
    lite.page.wait_for_function(
        "(id) => window.__runs[id].iopub.some(m => m.type === 'status'"
        " && m.content.execution_state === 'busy')",
        arg=run.id,
        timeout=30_000,
    )
    lite.page.wait_for_timeout(300)


def interrupt_and_check(lite, code):
    run = lite.start(code)
    wait_until_running(lite, run)
    lite.interrupt()
    state = run.wait(timeout_ms=10_000)
    assert errors_of(state) == ["KeyboardInterrupt"], state["iopub"]
    assert state["reply"]["status"] == "error"
    return state


#: (mode, kind): every kind on an isolated page; on a plain page what it can
#: stop (the rest: test_busy_loop_without_isolation_offers_a_restart)
STOP_CASES = [("isolated", kind) for kind in BLOCKING] + [
    ("plain", kind) for kind in BLOCKING if kind in STOPPABLE_WITHOUT_ISOLATION
]


@pytest.mark.parametrize(("lite", "kind"), STOP_CASES, indirect=["lite"])
def test_stop_interrupts_and_keeps_variables(lite, kind):
    lite.execute(f"kept = {kind!r}")
    interrupt_and_check(lite, BLOCKING[kind])
    assert text_of(lite.execute("print(kept)")) == f"{kind}\n"


FAST_TRACEBACK_CHECK = """
import sys
from jupyterlite_stream.runtime import tracebacks

def stopped():
    total = 0
    raise KeyboardInterrupt

def draw():
    try:
        stopped()
    except KeyboardInterrupt:
        return get_ipython().InteractiveTB.structured_traceback(*sys.exc_info())

replaced = sorted(name for _, name in tracebacks.ORIGINALS)
fast = [draw() for _ in range(2)]
tracebacks.restore_originals()
try:
    plain = draw()
finally:
    tracebacks.install_fast_tracebacks()
print(replaced)
print(fast == [plain] * 2, 'stopped' in ''.join(plain), '\\x1b[' in ''.join(plain))
"""


def test_a_stop_draws_the_traceback_ipython_draws(lite):
    """The faster traceback path (runtime/tracebacks.py) on Pyodide's IPython:
    all four caches in place, and the same text, colours included."""
    assert text_of(lite.execute(FAST_TRACEBACK_CHECK)).splitlines() == [
        "['Terminal256Formatter', '_pygmented_with_ranges', 'as_pygments_style',"
        " 'style_with_executing_node']",
        "True True True",
    ]


def test_keyboard_interrupt_can_be_handled(lite):
    code = (
        "import asyncio\ntry:\n    await asyncio.sleep(600)\n"
        "except KeyboardInterrupt:\n    print('handled')"
    )
    if lite.mode == "isolated":
        code = (
            "import time\ntry:\n    time.sleep(600)\n"
            "except KeyboardInterrupt:\n    print('handled')"
        )
    run = lite.start(code)
    wait_until_running(lite, run)
    lite.interrupt()
    state = run.wait(timeout_ms=10_000)
    assert errors_of(state) == []
    assert text_of(state) == "handled\n"


def test_interrupts_while_idle_do_no_harm(lite):
    lite.interrupt()
    lite.interrupt()
    lite.page.wait_for_timeout(200)
    state = lite.execute("import time\ntime.sleep(0.2)\nprint('still fine')")
    assert errors_of(state) == []
    assert text_of(state) == "still fine\n"


def test_uninterrupted_sleep_lasts_its_full_time(lite):
    state = lite.execute(
        "import time\nt = time.monotonic()\ntime.sleep(1.0)\nprint(round(time.monotonic() - t, 1))"
    )
    assert text_of(state) == "1.0\n"


def test_queued_cells_are_cancelled(lite):
    code = BLOCKING["busy loop" if lite.mode == "isolated" else "awaited coroutine"]
    run = lite.start(code)
    queued = lite.start("print('queued ran')")
    wait_until_running(lite, run)
    lite.interrupt()
    assert errors_of(run.wait(10_000)) == ["KeyboardInterrupt"]
    assert "queued ran" not in text_of(queued.wait(10_000))
    assert text_of(lite.execute("print('next')")) == "next\n"


def test_two_quick_interrupts_leave_nothing_stale(lite):
    code = BLOCKING["busy loop" if lite.mode == "isolated" else "awaited coroutine"]
    run = lite.start(code)
    wait_until_running(lite, run)
    lite.interrupt()
    lite.interrupt()
    assert errors_of(run.wait(10_000)) == ["KeyboardInterrupt"]
    state = lite.execute("import time\ntime.sleep(0.3)\nprint('after')")
    assert errors_of(state) == []
    assert text_of(state) == "after\n"


@pytest.mark.parametrize("lite", ["isolated"], indirect=True)
@pytest.mark.parametrize("kind", ["time.sleep", "busy loop"])
def test_a_stop_right_after_run_stops_the_cell(lite, kind):
    """On a busy laptop the Stop can reach the kernel before the cell does:
    the cell is stopped as it starts, not left running."""
    state = lite.start(BLOCKING[kind], stop_at_once=True).wait(timeout_ms=10_000)
    assert errors_of(state) in (["KeyboardInterrupt"], ["Kernel Interrupt"]), state["iopub"]
    after = lite.execute("print('next')")
    assert errors_of(after) == [] and text_of(after) == "next\n"


#: a cell that ends by itself: a Stop may land before, in or after its last line
SHORT_CELL = "import time\ntime.sleep(0.05)\nshort = counter"
SOAK_CYCLES = 200


def test_random_stop_soak(fresh_lite):
    """Every kind, Stops after 0-1.5 s (a third under 0.1 s, some before the
    cell's first line), and cells that end by themselves around the Stop: each
    cycle ends with a reply, KeyboardInterrupt where the cell was still
    running, and the kernel keeps its state and takes the next Stop."""
    page = fresh_lite("isolated")
    page.open_repl()
    page.execute("counter = 0")
    rng = random.Random(459)
    kinds = [*BLOCKING, "short cell"]
    early = 0
    for cycle in range(SOAK_CYCLES):
        kind = rng.choice(kinds)
        body = SHORT_CELL if kind == "short cell" else BLOCKING[kind]
        run = page.start("counter += 1\n" + body)
        delay = rng.uniform(0, 0.1) if rng.random() < 0.35 else rng.uniform(0.1, 1.5)
        early += delay < 0.1
        page.page.wait_for_timeout(delay * 1000)
        page.interrupt()
        try:
            state = run.wait(timeout_ms=10_000)
        except PlaywrightTimeoutError:
            raise AssertionError(f"cycle {cycle} ({kind}) not stopped: {run.state()}") from None
        errors = errors_of(state)
        if kind == "short cell":
            assert errors in ([], ["KeyboardInterrupt"]), (cycle, state["iopub"])
        else:
            assert errors == ["KeyboardInterrupt"], (cycle, kind, state["iopub"])
    # a Stop before a cell's first line stops it there: `counter += 1` may not run
    counter = int(text_of(page.execute("print(counter)")))
    assert SOAK_CYCLES - early <= counter <= SOAK_CYCLES, (counter, early)
    # nothing stale: the next cell runs whole
    assert text_of(page.execute("import time\ntime.sleep(0.2)\nprint('fine')")) == "fine\n"


def test_output_after_stop_is_not_shown_and_the_page_stays_responsive(fresh_lite):
    """A print flood typed into the console: the page keeps drawing frames
    while it runs, Stop shows the KeyboardInterrupt, and the flood's output
    does not go on after it."""
    page = fresh_lite("isolated")
    page.open_repl()
    nb = page.page
    nb.locator(".jp-CodeConsole-promptCell .cm-content").click()
    nb.keyboard.type("i = 0\nwhile True: print(i); i += 1")
    nb.keyboard.press("Shift+Enter")
    output = nb.locator(".jp-CodeConsole-content .jp-OutputArea-output")
    output.first.wait_for(timeout=30_000)
    nb.evaluate(
        """() => new Promise((done) => { const gaps = []; let last = performance.now();
        const tick = (t) => { gaps.push(t - last); last = t;
          if (t - gaps.t0 < 1000) requestAnimationFrame(tick); else done(window.__gaps = gaps); };
        gaps.t0 = performance.now(); requestAnimationFrame(tick); })"""
    )
    gaps = nb.evaluate("window.__gaps")
    page.interrupt()
    nb.locator(".jp-CodeConsole-content").get_by_text("KeyboardInterrupt").first.wait_for(
        timeout=10_000
    )
    shown = nb.locator(".jp-CodeConsole-content").inner_text()
    nb.wait_for_timeout(1000)
    assert nb.locator(".jp-CodeConsole-content").inner_text() == shown
    # a loose bound (frames come every ~16 ms): the page never froze for a second
    assert gaps and max(gaps) < 1000, sorted(gaps)[-5:]
    assert text_of(page.execute("print(i > 0)")) == "True\n"


def test_stop_button_in_notebook_toolbar(fresh_lite):
    page = fresh_lite("isolated")
    page.open_notebook("welcome.ipynb")
    nb = page.page
    cell = nb.locator(".jp-CodeCell .cm-content").first
    cell.click()
    nb.keyboard.press("Control+a")
    nb.keyboard.type("total = 0\nwhile True:\n    total += 1")
    nb.keyboard.press("Shift+Enter")
    nb.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext"
        ".session.kernel.status === 'busy'"
    )
    nb.wait_for_timeout(500)
    nb.locator("jp-button[data-command='notebook:interrupt-kernel']").click()
    first_output = nb.locator(".jp-CodeCell").first.locator(".jp-OutputArea-output")
    first_output.filter(has_text="KeyboardInterrupt").wait_for(timeout=10_000)
    state = page.execute("print(total > 0)")
    assert text_of(state) == "True\n"


def test_busy_loop_without_isolation_offers_a_restart(fresh_lite):
    page = fresh_lite("plain")
    page.open_repl()
    page.execute("lost = 1")
    run = page.start(BLOCKING["busy loop"])
    wait_until_running(page, run)
    page.interrupt()
    dialog = page.page.locator(".jp-Dialog")
    dialog.get_by_text("cannot interrupt running Python code").wait_for(timeout=10_000)
    dialog.get_by_role("button", name="Restart kernel").click()
    page.wait_kernel_idle()
    state = page.execute("print('restarted', 'lost' in globals())")
    assert text_of(state) == "restarted False\n"
