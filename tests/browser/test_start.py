"""The kernel's start: from the build's memory snapshot when the site has one
(the `isolated` site), the long way when not (the `plain` site), and the long
way again when the snapshot is broken. Either way the user gets the same
kernel."""

from __future__ import annotations

import re

from .driver import text_of

PHASE = re.compile(r"\[jupyterlite-stream\] (.+) after (\d+) ms")


def phases(page) -> list[str]:
    """The start-up phases the worker printed to the browser console."""
    return [m[1] for m in map(PHASE.search, page.console) if m]


def test_start_phases_are_in_the_console(lite):
    seen = phases(lite)
    first = "pyodide restored from snapshot" if lite.mode == "isolated" else "pyodide loaded"
    assert seen[:1] == [first]
    assert seen[-1] == "kernel ready"
    steps = ["packages loaded", "kernel imported", "kernel ready"]
    assert [p for p in seen if p in steps] == steps
    # the same from Python, for a notebook cell
    code = "from jupyterlite_stream.runtime import start_phases\nprint(start_phases())"
    shown = text_of(lite.execute(code))
    assert shown.startswith(f"[('{first}', ") and "('kernel ready', " in shown


def test_kernel_from_the_snapshot_has_everything(lite):
    """Modules imported at build time, files written again at start: lazy
    imports, source lines in tracebacks and completion all need the files."""
    code = "import jedi, IPython, tqdm, sqlite3\nprint(IPython.__version__ > '8')"
    assert text_of(lite.execute(code)) == "True\n"
    # sources of modules imported at build time, for tracebacks and `??`
    code = (
        "import inspect, textwrap, IPython.core.completer as c\n"
        "print('def dedent' in inspect.getsource(textwrap.dedent),"
        " 'class IPCompleter' in inspect.getsource(c))"
    )
    assert text_of(lite.execute(code)) == "True True\n"


def test_each_kernel_draws_its_own_random_numbers(fresh_lite):
    """Every kernel comes from the same memory image; their random numbers
    must still differ."""
    draws = []
    for _ in range(2):
        page = fresh_lite("isolated")
        page.open_repl()
        draws.append(text_of(page.execute("import random\nprint(random.random())")))
    assert draws[0] != draws[1]


def test_a_broken_snapshot_costs_only_time(fresh_lite):
    page = fresh_lite("isolated")
    # on the context: the worker's requests do not go through the page's routes
    page.context.route(
        "**/kernel-snapshot.bin.gz",
        lambda route: route.fulfill(status=200, body=b"\x1f\x8b not really gzip"),
    )
    page.open_repl()
    assert text_of(page.execute("print(6 * 7)")) == "42\n"
    assert "pyodide restored from snapshot" not in phases(page)
    assert "pyodide loaded" in phases(page)
    assert any("could not be used, starting without it" in line for line in page.console)
