"""After an exception, the line that raised is highlighted in the cell editor."""

from __future__ import annotations

from pathlib import Path

import pytest

from .notebook import make_notebook, run_all, run_cell

SCREENSHOTS = Path(__file__).parent / "screenshots"

LINE = "jp-stream-error-line"
FRAME = "jp-stream-error-frame"
SPAN = "jp-stream-error-span"


def marked_lines(page, cell_index: int, cls: str) -> list[int]:
    """1-based numbers of the editor lines of a cell that carry `cls`."""
    return page.page.evaluate(
        """([i, cls]) => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
          const lines = [...cell.node.querySelectorAll('.cm-content .cm-line')];
          return lines.map((l, n) => l.classList.contains(cls) ? n + 1 : 0).filter(n => n);
        }""",
        [cell_index, cls],
    )


def span_text(page, cell_index: int) -> str:
    return page.page.evaluate(
        """(i) => [...window.jupyterapp.shell.currentWidget.content.widgets[i].node
            .querySelectorAll('.jp-stream-error-span')].map(e => e.textContent).join('')""",
        cell_index,
    )


@pytest.fixture(scope="module")
def notebook_page(browser, servers):
    from .conftest import _new_lite

    page = _new_lite(browser, servers, "isolated")
    page.open_repl()  # start the app once, so that contents can be saved
    yield page
    page.context.close()
    assert page.blocked == []


def test_runtime_error_marks_its_line_and_span(notebook_page):
    make_notebook(notebook_page, "hl-runtime.ipynb", ["a = 1\nb = 0\nc = a / b\nd = 2\ne = 3"])
    run_all(notebook_page)
    assert marked_lines(notebook_page, 0, LINE) == [3]
    assert span_text(notebook_page, 0) == "a / b"
    title = notebook_page.page.locator(f".cm-line.{LINE}").first.get_attribute("title")
    assert title == "ZeroDivisionError: division by zero"
    SCREENSHOTS.mkdir(exist_ok=True)
    notebook_page.page.locator(".jp-Cell").first.screenshot(
        path=str(SCREENSHOTS / "error-highlight.png")
    )


def test_syntax_error_marks_the_reported_line(notebook_page):
    make_notebook(notebook_page, "hl-syntax.ipynb", ["x = 1\ny = (2,\nz = 3"])
    run_all(notebook_page)
    assert marked_lines(notebook_page, 0, LINE) == [2]


def test_incomplete_input_marks_the_last_line(notebook_page):
    make_notebook(notebook_page, "hl-incomplete.ipynb", ["total = 0\nfor i in range(3):"])
    run_all(notebook_page)
    assert marked_lines(notebook_page, 0, LINE) == [2]


def test_error_in_a_function_of_another_cell_marks_both(notebook_page):
    make_notebook(
        notebook_page,
        "hl-frames.ipynb",
        [
            "def helper(x):\n    scale = 10\n    return scale / x",
            "y = 5\nhelper(0)",
        ],
    )
    run_all(notebook_page)
    assert marked_lines(notebook_page, 1, LINE) == [2]
    assert marked_lines(notebook_page, 0, FRAME) == [3]
    assert marked_lines(notebook_page, 0, LINE) == []


def test_magics_do_not_shift_line_numbers(notebook_page):
    make_notebook(notebook_page, "hl-magic.ipynb", ["%time z = 1\nw = 2\nw / 0"])
    run_all(notebook_page)
    assert marked_lines(notebook_page, 0, LINE) == [3]


def test_no_highlight_after_a_successful_run(notebook_page):
    make_notebook(notebook_page, "hl-ok.ipynb", ["a = 1\nb = a + 1"])
    run_all(notebook_page)
    assert marked_lines(notebook_page, 0, LINE) == []


def test_highlight_cleared_on_edit_and_on_rerun(notebook_page):
    make_notebook(notebook_page, "hl-clear.ipynb", ["p = 0\nq = 1 / p", "r = 1 / 0"])
    run_cell(notebook_page, 0)
    run_cell(notebook_page, 1)
    assert marked_lines(notebook_page, 0, LINE) == [2]
    assert marked_lines(notebook_page, 1, LINE) == [1]
    # edit the first cell: its mark goes
    notebook_page.page.locator(".jp-Cell .cm-content").first.click()
    notebook_page.page.keyboard.press("End")
    notebook_page.page.keyboard.type(" ")
    assert marked_lines(notebook_page, 0, LINE) == []
    # re-run the second cell after fixing it: its mark goes
    # re-run the second cell: the mark goes when it runs, and stays away
    # once the fixed code succeeds
    notebook_page.page.evaluate(
        "window.jupyterapp.shell.currentWidget.content.widgets[1]"
        ".model.sharedModel.setSource('r = 1 / 1')"
    )
    assert marked_lines(notebook_page, 1, LINE) == []
    run_cell(notebook_page, 1)
    assert marked_lines(notebook_page, 1, LINE) == []


def test_highlight_cleared_when_outputs_are_cleared(notebook_page):
    make_notebook(notebook_page, "hl-clear-outputs.ipynb", ["s = 1 / 0"])
    run_cell(notebook_page, 0)
    assert marked_lines(notebook_page, 0, LINE) == [1]
    notebook_page.page.evaluate(
        "window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')"
    )
    notebook_page.page.wait_for_timeout(300)
    assert marked_lines(notebook_page, 0, LINE) == []


def test_rerunning_a_failing_cell_marks_it_again(notebook_page):
    make_notebook(notebook_page, "hl-rerun.ipynb", ["t = 1\nu = t / 0"])
    run_cell(notebook_page, 0)
    run_cell(notebook_page, 0)
    assert marked_lines(notebook_page, 0, LINE) == [2]


def test_traceback_header_links_to_the_line(notebook_page):
    make_notebook(
        notebook_page, "hl-link.ipynb", ["def helper(x):\n    return 10 / x", "helper(0)"]
    )
    run_all(notebook_page)
    link = notebook_page.page.locator(".jp-stream-traceback-link", has_text="In [1]")
    if link.count() == 0:
        link = notebook_page.page.locator(".jp-stream-traceback-link").last
    link.first.click()
    active = notebook_page.page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " return [nb.activeCellIndex, nb.activeCell.editor.getCursorPosition().line]; }"
    )
    assert active == [0, 1]


def test_highlights_survive_reopening_the_editor_view(notebook_page):
    """A cell scrolled out of view and back keeps its mark (windowed notebooks)."""
    sources = [f"n{i} = {i}" for i in range(40)] + ["v = 1 / 0"]
    make_notebook(notebook_page, "hl-window.ipynb", sources)
    run_all(notebook_page)
    assert marked_lines(notebook_page, 40, LINE) == [1]
    notebook_page.page.evaluate("""async () => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        await nb.scrollToCell(nb.widgets[0]);
        await new Promise(r => setTimeout(r, 300));
        await nb.scrollToCell(nb.widgets[40]);
    }""")
    notebook_page.page.wait_for_timeout(500)
    assert marked_lines(notebook_page, 40, LINE) == [1]
