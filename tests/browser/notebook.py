"""Helpers for tests in the notebook app: make a notebook, run its cells."""

from __future__ import annotations


def make_notebook(page, name: str, sources: list[str]) -> None:
    """Save a notebook with these code cells and open it in the notebook app."""
    cells = [
        {
            "cell_type": "code",
            "id": f"cell-{i}",
            "metadata": {},
            "source": src,
            "outputs": [],
            "execution_count": None,
        }
        for i, src in enumerate(sources)
    ]
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python", "display_name": "Python (Pyodide)"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    page.page.evaluate(
        "([name, nb]) => window.jupyterapp.serviceManager.contents.save(name,"
        " {type: 'notebook', format: 'json', content: nb})",
        [name, notebook],
    )
    page.open_notebook(name)


def run_all(page) -> None:
    page.page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
          return w.content.widgets.every(c => c.model.type !== 'code' ||
            (c.model.executionCount !== null && !c.node.querySelector('.jp-InputPrompt')
              .textContent.includes('*'))); }""",
        timeout=60_000,
    )
    page.page.wait_for_timeout(300)


def run_cell(page, index: int) -> None:
    """Run one cell, as Shift+Enter would, and wait until it is done."""
    page.page.evaluate(
        """(i) => { const nb = window.jupyterapp.shell.currentWidget.content;
          nb.activeCellIndex = i;
          return window.jupyterapp.commands.execute('notebook:run-cell'); }""",
        index,
    )
    page.page.wait_for_function(
        """(i) => { const c = window.jupyterapp.shell.currentWidget.content.widgets[i];
          return !c.node.querySelector('.jp-InputPrompt').textContent.includes('*'); }""",
        arg=index,
        timeout=60_000,
    )
    page.page.wait_for_timeout(300)


def run_new_cell(page, source: str) -> str:
    """Add a code cell at the end of the notebook, run it as Shift+Enter
    would, and return its output as shown (the output area's text)."""
    index = page.page.evaluate(
        """(source) => { const nb = window.jupyterapp.shell.currentWidget.content;
          const n = nb.model.sharedModel.cells.length;
          nb.model.sharedModel.insertCell(n, {cell_type: 'code', source});
          return n; }""",
        source,
    )
    run_cell(page, index)
    return page.page.evaluate(
        """(i) => { const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
          return Array.from(cell.node.querySelectorAll('.jp-OutputArea-output'),
                            (o) => o.innerText).join(''); }""",
        index,
    )


def dialog(page, text: str, timeout_ms: int = 60_000):
    """The open dialog that shows `text`."""
    found = page.page.locator(".jp-Dialog", has_text=text)
    found.wait_for(timeout=timeout_ms)
    return found


def answer(found, button: str) -> None:
    """Click a button of a dialog and wait until it is gone."""
    found.get_by_role("button", name=button, exact=True).click()
    found.wait_for(state="detached", timeout=10_000)
