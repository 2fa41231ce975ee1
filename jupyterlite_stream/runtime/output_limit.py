"""A bound on what one cell shows, so that a runaway loop cannot freeze the page.

`while True: print(i)` writes megabytes a second; every piece the page gets
re-renders the cell's whole output, so the page falls seconds behind and a
Stop waits behind that backlog. Past `lines` lines or `chars` characters of
stream text, or `displays` new displays, in one cell, the rest is counted and
dropped here, in the kernel, and one note under the output says how much was
not shown and how to get everything. The note updates in place while the cell
runs (at most `NOTE_UPDATES_PER_SECOND` times a second) and once more when it
ends.

Set per site in jupyter-lite.json
(`litePluginSettings["jupyterlite-stream:kernel"].outputLimit`) or in a
notebook with `jupyterlite_stream.runtime.output_limit(lines=..., chars=...,
displays=...)`; `None` (JSON `null`) or 0 switches one bound off.
"""

import time

#: the bounds a site gets unless its settings say otherwise
DEFAULTS = {"lines": 10_000, "chars": 1_000_000, "displays": 500}
#: the note of a running cell changes at most this often
NOTE_UPDATES_PER_SECOND = 2

_HOW_TO_SEE_ALL = (
    "To keep everything, write it to a file (print(..., file=f)) or raise the limit: "
    "jupyterlite_stream.runtime.output_limit(lines=..., chars=..., displays=...)"
)


class OutputLimit:
    """What the running cell may still show, and what it dropped."""

    def __init__(self, publish_note, clock=time.monotonic):
        """`publish_note(text, display_id, update)` shows the note."""
        self._publish_note = publish_note
        self._clock = clock
        self.bounds = dict(DEFAULTS)
        self._cell = 0
        self._publishing = False
        self.begin_cell()

    def configure(self, **bounds):
        """Change some bounds; a wrong value raises ValueError and changes nothing."""
        checked = {}
        for name, value in bounds.items():
            if name not in DEFAULTS:
                known = ", ".join(DEFAULTS)
                raise ValueError(f"output limit: unknown bound {name!r} (use {known})")
            if value is None or value == 0:
                checked[name] = None
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                checked[name] = value
            else:
                raise ValueError(
                    f"output limit: {name} must be a positive whole number or None, not {value!r}"
                )
        self.bounds.update(checked)

    def begin_cell(self):
        self._cell += 1
        self.cleared()

    def cleared(self):
        """The cell's output was cleared (`clear_output`): what it shows, and
        the note about it, start again (an animation redraws every frame)."""
        self._lines = self._chars = self._displays = 0
        self._dropped_lines = self._dropped_chars = self._dropped_displays = 0
        self._note_id = None
        self._note_at = float("-inf")

    def admit_text(self, text):
        """The part of `text` the cell may still show; the rest is counted."""
        if not (self._dropped_lines or self._dropped_chars):
            cut = self._room_in(text)
            if cut is None:
                self._lines += text.count("\n")
                self._chars += len(text)
                return text
            shown, text = text[:cut], text[cut:]
            self._lines += shown.count("\n")
            self._chars += len(shown)
        else:
            shown = ""
        self._dropped_lines += text.count("\n")
        self._dropped_chars += len(text)
        self._show_note()
        return shown

    def admit_display(self):
        """Whether the cell may show one more new display (updates of a shown
        one, such as a progress bar's line, are always sent)."""
        bound = self.bounds["displays"]
        if self._publishing or bound is None or self._displays < bound:
            self._displays += 1
            return True
        self._dropped_displays += 1
        self._show_note()
        return False

    def end_cell(self):
        """Bring the note up to date with everything the cell dropped."""
        if self._note_id is not None:
            self._show_note(final=True)

    def note(self):
        """The note's text for what was dropped so far ('' when nothing was)."""
        parts = []
        if self._dropped_lines or self._dropped_chars:
            lines = _count(self._dropped_lines, "more line")
            parts.append(f"{lines} ({_count(self._dropped_chars, 'character')})")
        if self._dropped_displays:
            parts.append(_count(self._dropped_displays, "more display"))
        if not parts:
            return ""
        bounds = ", ".join(f"{value:,} {name}" for name, value in self.bounds.items() if value)
        return (
            f"output limited: {' and '.join(parts)} not shown "
            f"(this site shows at most {bounds} per cell).\n{_HOW_TO_SEE_ALL}"
        )

    def _room_in(self, text):
        """Where `text` crosses a bound, or None when all of it fits."""
        cuts = []
        chars = self.bounds["chars"]
        if chars is not None and self._chars + len(text) > chars:
            cuts.append(max(chars - self._chars, 0))
        lines = self.bounds["lines"]
        if lines is not None and self._lines >= lines:
            cuts.append(0)  # not even the start of one more line
        elif lines is not None and self._lines + text.count("\n") > lines:
            at = -1
            for _ in range(lines - self._lines):
                at = text.index("\n", at + 1)
            cuts.append(at + 1)
        return min(cuts) if cuts else None

    def _show_note(self, final=False):
        now = self._clock()
        first = self._note_id is None
        if not (first or final or now - self._note_at >= 1 / NOTE_UPDATES_PER_SECOND):
            return
        if first:
            self._note_id = f"jupyterlite-stream-output-limit-{self._cell}"
        self._note_at = now
        self._publishing = True
        try:
            self._publish_note(self.note(), self._note_id, not first)
        finally:
            self._publishing = False


def _count(number, noun):
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
