"""Where in the notebook an exception happened, as structured data.

The frontend highlights these places in the cell editors. Frames are mapped
to cells through IPython's compiler, which names each cell's code object
(`<ipython-input-N-...>`, or a file under ipykernel) and remembers N, the
execution count; the kernel records which cell id ran under each count.
"""

from __future__ import annotations

import traceback

PRIMARY = "primary"
FRAME = "frame"


class CellRegistry:
    """Execution count -> the notebook cell id that ran under it, and the
    count of the cell running now (IPython may increment its own counter
    before the cell's error is reported, so it is recorded at the start)."""

    def __init__(self):
        self.ids: dict[int, str] = {}
        self.current: int | None = None

    def begin(self, execution_count: int, cell_id: str | None) -> None:
        self.current = execution_count
        if cell_id:
            self.ids[execution_count] = cell_id

    def cell_id(self, execution_count: int) -> str | None:
        return self.ids.get(execution_count)


def error_locations(evalue, filename_map: dict, current_count: int, cells: CellRegistry):
    """The cell lines an exception points at, deepest first within kinds.

    `filename_map` is IPython's `shell.compile._filename_map` (code name ->
    execution count); `current_count` the count of the cell that ran. The
    place in the executed cell is `primary`; places in other cells (a function
    defined elsewhere) are `frame`.
    """
    if isinstance(evalue, SyntaxError):
        place = _syntax_error_place(evalue, filename_map, current_count)
        places = [place] if place else []
    else:
        places = _traceback_places(evalue, filename_map)
    return _classify(places, current_count, cells)


def _syntax_error_place(error: SyntaxError, filename_map: dict, current_count: int):
    count = filename_map.get(error.filename, current_count)
    if not error.lineno:
        return None
    column = end_column = None
    if error.offset and error.offset > 0:
        column = error.offset - 1
        same_line = (error.end_lineno or error.lineno) == error.lineno
        if same_line and error.end_offset and error.end_offset > error.offset:
            end_column = error.end_offset - 1
    return {
        "execution_count": count,
        "line": error.lineno,
        "end_line": error.lineno,
        "column": column,
        "end_column": end_column,
    }


def _traceback_places(evalue, filename_map: dict):
    places = []
    for frame in traceback.extract_tb(evalue.__traceback__):
        count = filename_map.get(frame.filename)
        if count is None or not frame.lineno:
            continue
        places.append(
            {
                "execution_count": count,
                "line": frame.lineno,
                "end_line": frame.end_lineno or frame.lineno,
                "column": getattr(frame, "colno", None),
                "end_column": getattr(frame, "end_colno", None),
            }
        )
    return places


def _classify(places, current_count: int, cells: CellRegistry):
    """Mark the deepest place in the executed cell (or, failing that, the
    deepest place anywhere) primary; keep one entry per cell line."""
    if not places:
        return []
    in_current = [p for p in places if p["execution_count"] == current_count]
    primary = (in_current or places)[-1]
    seen, result = set(), []
    for place in reversed(places):
        key = (place["execution_count"], place["line"])
        if key in seen:
            continue
        seen.add(key)
        kind = PRIMARY if place is primary else FRAME
        result.append({**place, "kind": kind, "cell_id": cells.cell_id(place["execution_count"])})
    result.sort(key=lambda p: p["kind"] != PRIMARY)
    return result
