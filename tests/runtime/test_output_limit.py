"""`runtime.output_limit`: what one cell may show, and the note about the rest."""

from __future__ import annotations

import pytest

from jupyterlite_stream.runtime.output_limit import OutputLimit


class Notes:
    def __init__(self):
        self.shown: list[tuple[str, str, bool]] = []

    def __call__(self, text, display_id, update):
        self.shown.append((text, display_id, update))


def make(clock=lambda: 0.0, **bounds):
    notes = Notes()
    limit = OutputLimit(notes, clock=clock)
    limit.configure(**bounds)
    return limit, notes


def test_text_within_the_bounds_passes_whole():
    limit, notes = make(lines=3)
    assert limit.admit_text("a\nb\n") == "a\nb\n"
    assert notes.shown == []


def test_the_line_bound_cuts_after_the_last_line_that_fits():
    limit, notes = make(lines=3)
    assert limit.admit_text("1\n2\n3\n4\n5\n") == "1\n2\n3\n"
    assert limit.admit_text("6\n") == ""
    text, display_id, update = notes.shown[0]
    assert text.startswith("output limited: 2 more lines (4 characters) not shown")
    assert "write it to a file" in text
    assert not update
    limit.end_cell()
    assert notes.shown[-1][0].startswith("output limited: 3 more lines (6 characters)")
    assert notes.shown[-1][1:] == (display_id, True)


def test_the_character_bound_cuts_long_lines():
    limit, _ = make(chars=10)
    assert limit.admit_text("x" * 25) == "x" * 10
    assert "1 more line" not in limit.note()
    assert "15 characters" in limit.note()


def test_displays_past_the_bound_are_dropped_and_a_clear_starts_again():
    limit, notes = make(displays=2)
    assert [limit.admit_display() for _ in range(4)] == [True, True, False, False]
    assert "2 more displays" in notes.shown[-1][0] or "1 more display" in notes.shown[-1][0]
    limit.cleared()
    assert limit.admit_display()


def test_note_updates_are_rate_limited_while_the_cell_runs():
    now = [0.0]
    limit, notes = make(clock=lambda: now[0], lines=1)
    limit.admit_text("a\n")
    for _ in range(100):
        limit.admit_text("b\n")
        now[0] += 0.01
    # the first note, then at most 2 updates a second over one second
    assert 1 < len(notes.shown) <= 4


def test_each_cell_starts_with_its_own_budget_and_note():
    limit, notes = make(lines=1)
    limit.admit_text("a\nb\n")
    first_id = notes.shown[0][1]
    limit.begin_cell()
    assert limit.admit_text("c\n") == "c\n"
    limit.admit_text("d\n")
    assert notes.shown[-1][1] != first_id


def test_none_or_zero_switches_a_bound_off():
    limit, notes = make(lines=None, chars=0)
    big = "line\n" * 50_000
    assert limit.admit_text(big) == big
    assert notes.shown == []


@pytest.mark.parametrize(
    "bounds", [{"lines": -1}, {"lines": "many"}, {"lines": 2.5}, {"rows": 10}, {"lines": True}]
)
def test_a_wrong_setting_is_refused_and_changes_nothing(bounds):
    limit, _ = make()
    before = dict(limit.bounds)
    with pytest.raises(ValueError, match="output limit"):
        limit.configure(**bounds)
    assert limit.bounds == before


def test_no_part_of_a_line_past_the_line_bound():
    limit, _ = make(lines=2)
    assert limit.admit_text("1\n2\n") == "1\n2\n"
    assert limit.admit_text("3") == ""  # print writes the text, then the newline
    assert limit.admit_text("\n") == ""
    assert "1 more line (2 characters)" in limit.note()
