"""The early start (issue 18): on a visit the service worker already controls,
the HTML page starts the first kernel's worker before JupyterLab's bundles
load, and the kernel adopts it. It must be the same kernel as one the plugin
starts: Stop, input() and the drive (both through the service worker) work,
and one worker boots, not two. A worker that does not fit the page is ended
and the kernel starts its own."""

from __future__ import annotations

import re

import pytest

from .driver import errors_of, text_of
from .test_start import phases

ADOPTED = re.compile(r"kernel worker started by the page at (\d+) ms")
REPLACED = "early kernel worker did not fit this page"
# Pyodide's phase, once per worker that booted
BOOTED = ("pyodide restored from snapshot", "pyodide loaded")

PHASES_CELL = (
    "from jupyterlite_stream.runtime import start_phases\n"
    "for step, ms in start_phases():\n"
    "    print(f'{ms:6d} ms  {step}')"
)

# change what the page's early start leaves for the kernel, as another
# build's page or a page with other settings would
SPOIL_THE_KEY = """
window.__jupyterliteStreamEarlyStart = {
  closed: false,
  left: null,
  get worker() { return this.left; },
  set worker(early) { if (early) { early.key = 'another build'; } this.left = early; },
};
"""


def second_visit(page, open_page) -> None:
    """A first visit (the service worker starts controlling), then the
    visit that counts, with a clean console."""
    open_page()
    page.console.clear()
    open_page()


def booted(page) -> int:
    return sum(phase in BOOTED for phase in phases(page))


@pytest.mark.parametrize("mode", ["isolated", "service-worker", "plain"])
def test_a_second_visit_adopts_the_worker_the_page_started(fresh_lite, mode):
    page = fresh_lite(mode)
    second_visit(page, page.open_repl)
    assert any(ADOPTED.search(line) for line in page.console), page.console
    assert text_of(page.execute("print(1 + 1)")) == "2\n"
    assert booted(page) == 1, page.console
    # the demo's cell (works-offline.ipynb): the kernel's start, step by step
    shown = text_of(page.execute(PHASES_CELL))
    assert shown.splitlines()[-1].endswith(" ms  kernel ready"), shown
    # the drive and input() go through the service worker: the early
    # worker must be one it controls
    page.execute("open('early-start.txt', 'w').write('from the early worker')")
    saved = page.page.evaluate(
        "async () => (await window.jupyterapp.serviceManager.contents"
        ".get('early-start.txt', {content: true, type: 'file', format: 'text'})).content"
    )
    assert saved == "from the early worker"
    assert text_of(page.execute("print(input('name: '))", stdin="Ada")) == "Ada\n"
    if mode != "plain":  # the early worker shares the interrupt signal
        run = page.start("import time\nwhile True: time.sleep(0.01)")
        page.page.wait_for_timeout(500)
        page.interrupt()
        assert errors_of(run.wait(timeout_ms=10_000)) == ["KeyboardInterrupt"]
    assert page.isolated is (mode != "plain")


def test_a_notebook_page_adopts_it_too(fresh_lite):
    page = fresh_lite("isolated")
    second_visit(page, lambda: page.open_notebook("welcome.ipynb"))
    assert any(ADOPTED.search(line) for line in page.console), page.console
    assert booted(page) == 1, page.console


@pytest.mark.parametrize("mode", ["isolated", "service-worker"])
def test_a_first_visit_registers_the_service_worker_and_starts_early(fresh_lite, mode):
    """On a first visit the page registers the service worker at once; with
    the host's headers it then starts the kernel's worker, without them it
    makes the one isolation reload, after which the worker starts early."""
    page = fresh_lite(mode)
    navigations = []
    page.page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.page.main_frame else None,
    )
    page.open_repl()
    page.page.wait_for_timeout(1000)  # the reload, if one comes
    page.wait_kernel_idle()
    assert len(navigations) == (1 if mode == "isolated" else 2)
    assert page.isolated
    assert any(ADOPTED.search(line) for line in page.console), page.console
    assert booted(page) == 1, page.console
    assert text_of(page.execute("print(input('name: '))", stdin="Ada")) == "Ada\n"


def test_a_worker_that_does_not_fit_is_replaced(fresh_lite):
    page = fresh_lite("isolated")
    page.context.add_init_script(SPOIL_THE_KEY)
    second_visit(page, page.open_repl)
    assert any(REPLACED in line for line in page.console), page.console
    assert not any(ADOPTED.search(line) for line in page.console)
    assert text_of(page.execute("x = 6 * 7\nprint(x)")) == "42\n"
    run = page.start("while True: pass")
    page.page.wait_for_timeout(500)
    page.interrupt()
    assert errors_of(run.wait(timeout_ms=10_000)) == ["KeyboardInterrupt"]
    assert text_of(page.execute("print(x)")) == "42\n"
