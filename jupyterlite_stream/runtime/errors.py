"""What the kernel reports about an exception: the class name as `ename`
and, beside the traceback, where it happened in the notebook's cells."""

from .locations import CellRegistry, error_locations

#: which cell ran under which execution count (filled by `begin_cell`)
cells = CellRegistry()


def exception_name(etype):
    """The class name users know (`ZeroDivisionError`), not `str(etype)`
    (`<class 'ZeroDivisionError'>`, which the stock Pyodide kernel sends)."""
    return getattr(etype, "__name__", None) or str(etype)


def install_error_names(shell_class):
    """Patch the lite shell so the error it records carries the class name
    and the cell locations."""

    def _showtraceback(shell, etype, evalue, stb):
        shell._last_traceback = {
            "ename": exception_name(etype),
            "evalue": str(evalue),
            "traceback": stb,
            "locations": locate(shell, evalue),
        }

    shell_class._showtraceback = _showtraceback


def install_error_locations(kernel_class):
    """Add the locations of the cell's error to the execute reply."""
    run = kernel_class.run

    async def run_with_locations(kernel, code):
        results = await run(kernel, code)
        last = kernel.interpreter._last_traceback
        if results.get("status") == "error" and last:
            results["error_locations"] = last.get("locations", [])
        return results

    kernel_class.run = run_with_locations


def locate(shell, evalue):
    """Cell locations of an exception; never raises (it runs while an error
    is being reported)."""
    try:
        filename_map = getattr(shell.compile, "_filename_map", {})
        current = cells.current if cells.current is not None else shell.execution_count
        return error_locations(evalue, filename_map, current, cells)
    except Exception:
        return []


def begin_cell(shell, cell_id):
    """Record the notebook cell about to run (its id comes with the request)."""
    cells.begin(shell.execution_count, cell_id)
