"""Kernel-side error locations, under CPython with a real IPython shell."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyterlite_stream.runtime import errors
from jupyterlite_stream.runtime.locations import CellRegistry, error_locations


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    errors.cells.ids.clear()
    errors.cells.current = None
    yield sh
    InteractiveShell.clear_instance()


def run(shell, code: str, cell_id: str):
    """Run a cell as the kernel does: note its id first, then locate its error."""
    errors.begin_cell(shell, cell_id)
    result = shell.run_cell(code, store_history=True)
    error = result.error_in_exec or result.error_before_exec
    return errors.locate(shell, error) if error else []


def test_runtime_error_is_located_with_its_span(shell):
    (place,) = run(shell, "a = 1\nb = 0\nc = a / b\nd = 2", "cell-a")
    assert place["kind"] == "primary"
    assert place["cell_id"] == "cell-a"
    assert (place["line"], place["column"], place["end_column"]) == (3, 4, 9)


def test_error_in_a_function_of_another_cell_names_both_cells(shell):
    run(shell, "def helper(x):\n    scale = 10\n    return scale / x", "cell-def")
    places = run(shell, "y = 5\nhelper(0)", "cell-call")
    primary, frame = places
    assert (primary["kind"], primary["cell_id"], primary["line"]) == ("primary", "cell-call", 2)
    assert (frame["kind"], frame["cell_id"], frame["line"]) == ("frame", "cell-def", 3)


def test_syntax_error_is_located_at_the_reported_line(shell):
    (place,) = run(shell, "x = 1\ny = (2,\nz = 3", "cell-syntax")
    assert (place["kind"], place["cell_id"], place["line"]) == ("primary", "cell-syntax", 2)


def test_incomplete_input_points_at_the_last_line(shell):
    (place,) = run(shell, "total = 0\nfor i in range(3):", "cell-incomplete")
    assert place["line"] == 2


def test_line_magics_keep_line_numbers(shell):
    (place,) = run(shell, "%time z = 1\nw = 2\nw / 0", "cell-magic")
    assert place["line"] == 3


def test_no_cell_frames_no_locations():
    try:
        int("x")
    except ValueError as err:
        assert error_locations(err, {}, 1, CellRegistry()) == []


def test_locate_never_raises(shell):
    class Broken:
        __traceback__ = "not a traceback"

    assert errors.locate(shell, Broken()) == []
