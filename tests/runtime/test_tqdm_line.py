"""tqdm line mode under CPython: what bars publish, recorded in place of the
front end. Each test imports tqdm afresh through the import hook."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import threading
import time
import warnings

import pytest
from IPython.core.events import EventManager, available_events

from jupyterlite_stream.runtime import tqdm_line

METER_100 = re.compile(r"^100%\|█+\| 100/100 \[\d\d:\d\d<00:00, .*it/s\]$")


class Published:
    """The lines the bars sent, in order: (display_id, update, text)."""

    def __init__(self):
        self.calls: list[tuple[str, bool, str]] = []

    def __call__(self, data, display_id, update):
        assert list(data) == ["text/plain"]
        self.calls.append((display_id, update, data["text/plain"]))

    def ids(self) -> list[str]:
        """Display ids in the order their lines were made."""
        return list(dict.fromkeys(call[0] for call in self.calls))

    def texts(self, display_id: str) -> list[str]:
        return [text for did, _, text in self.calls if did == display_id]

    def last(self, display_id: str) -> str:
        return self.texts(display_id)[-1]


class Shell:
    """What line mode needs of an IPython shell: its events."""

    def __init__(self):
        self.events = EventManager(self, available_events)


def _tqdm_modules() -> dict:
    return {n: m for n, m in sys.modules.items() if n == "tqdm" or n.startswith("tqdm.")}


@pytest.fixture
def shell():
    return Shell()


@pytest.fixture
def published(monkeypatch, shell):
    """Line mode installed, tqdm not imported yet; the hook and the tqdm
    modules of the process are put back afterwards."""
    saved = _tqdm_modules()
    for name in saved:
        del sys.modules[name]
    record = Published()
    monkeypatch.setattr(tqdm_line, "publish_line", record)
    tqdm_line.install_tqdm_line_mode(shell)
    yield record
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, tqdm_line.TqdmImportHook)]
    for name in _tqdm_modules():
        del sys.modules[name]
    sys.modules.update(saved)
    tqdm_line.free_lines.forget()
    tqdm_line.open_bars.clear()  # bars a failed test left open


def test_a_bar_is_one_line_updated_in_place(published):
    from tqdm import trange

    for _ in trange(100):
        pass
    [line] = published.ids()
    updates = [update for _, update, _ in published.calls]
    assert updates[0] is False and all(updates[1:]) and len(updates) >= 2
    assert published.texts(line)[0].startswith("  0%|")
    assert METER_100.match(published.last(line)), published.last(line)


def test_the_meter_is_tqdms_own(published):
    from tqdm import tqdm

    bar = tqdm(total=100, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}")
    bar.update(45)
    bar.close()
    assert published.last(published.ids()[0]) == str(bar) == " 45%|████▌     | 45/100"


def test_nothing_reaches_the_streams(published, capsys):
    from tqdm import tqdm

    for _ in tqdm(range(50)):
        pass
    for _ in tqdm(range(50), file=sys.stdout):
        pass
    assert capsys.readouterr() == ("", "")
    assert len(published.ids()) == 2


def test_a_file_of_its_own_keeps_terminal_output(published):
    from tqdm import tqdm

    file = io.StringIO()
    for _ in tqdm(range(10), file=file):
        pass
    assert "\r" in file.getvalue() and "10/10" in file.getvalue()
    assert published.calls == []


def test_file_given_by_position_is_honoured(published):
    from tqdm import tqdm

    file = io.StringIO()
    for _ in tqdm(range(3), "desc", None, True, file):
        pass
    assert "desc: 100%" in file.getvalue()
    assert published.calls == []


def test_set_postfix_in_a_loop_is_rate_limited(published):
    from tqdm import tqdm

    bar = tqdm(total=10_000)
    start = time.monotonic()
    while time.monotonic() - start < 0.5:
        bar.update(1)
        bar.set_postfix(loss=bar.n)
    bar.close()
    # 0.5 s at 10 a second, plus the first and the last state
    assert len(published.calls) <= 8
    assert f"loss={bar.format_num(bar.n)}" in published.last(published.ids()[0])


def test_rate_limit_is_configurable(published, monkeypatch):
    from tqdm import tqdm

    monkeypatch.setattr(tqdm_line, "MAX_UPDATES_PER_SECOND", 1000)
    bar = tqdm(total=100_000, mininterval=0)
    start = time.monotonic()
    while time.monotonic() - start < 0.3:
        bar.update(1)
    bar.close()
    assert len(published.calls) > 30


def test_leave_false_empties_the_line(published):
    from tqdm import tqdm

    for _ in tqdm(range(5), leave=False):
        pass
    [line] = published.ids()
    assert published.last(line) == ""
    assert published.texts(line)[0].startswith("  0%")


def test_nested_bars_have_their_own_lines_and_inner_lines_are_reused(published):
    from tqdm import tqdm

    for _ in tqdm(range(3), desc="outer"):
        for _ in tqdm(range(4), desc="inner", leave=False):
            pass
    outer, inner = published.ids()
    assert published.last(outer).startswith("outer: 100%")
    assert published.last(inner) == ""
    # three inner bars drew on one line, as in a terminal
    assert sum(text.startswith("inner:   0%") for text in published.texts(inner)) == 3


def test_sequential_top_level_bars_get_new_lines(published):
    from tqdm import tqdm

    for _ in tqdm(range(2), leave=False):
        pass
    for _ in tqdm(range(2)):
        pass
    first, second = published.ids()
    assert published.last(first) == ""
    assert published.last(second).startswith("100%")


def test_inner_lines_are_not_reused_in_the_next_cell(published, shell):
    from tqdm import tqdm

    outer = tqdm(total=2)
    for _ in tqdm(range(2), leave=False):
        pass
    shell.events.trigger("post_run_cell", None)
    for _ in tqdm(range(2), leave=False):
        pass
    outer.close()
    assert len(published.ids()) == 3


def test_write_prints_to_stdout(published, capsys):
    from tqdm import tqdm

    bar = tqdm(total=3)
    tqdm.write("between the bars")
    bar.update(3)
    bar.close()
    assert capsys.readouterr().out == "between the bars\n"
    assert "" not in published.texts(published.ids()[0])


def test_a_loop_broken_by_an_exception_shows_where_it_stopped(published):
    from tqdm import tqdm

    with pytest.raises(ZeroDivisionError):
        for i in tqdm(range(100)):
            if i == 45:
                1 / 0  # noqa: B018
    assert " 45/100 " in published.last(published.ids()[0])


def test_a_keyboard_interrupt_leaves_the_line_where_it_stopped(published):
    from tqdm import tqdm

    with pytest.raises(KeyboardInterrupt):
        for i in tqdm(range(100)):
            if i == 7:
                raise KeyboardInterrupt
    assert published.last(published.ids()[0]).startswith("  7%")


def test_manual_update_description_and_postfix(published):
    from tqdm import tqdm

    bar = tqdm(total=10, mininterval=0)
    bar.set_description("loading")
    bar.update(3)
    time.sleep(0.11)
    bar.set_postfix(file="a.csv")
    bar.close()
    final = published.last(published.ids()[0])
    assert final.startswith("loading:  30%") and final.endswith("file=a.csv]")


def test_unknown_total(published):
    from tqdm import tqdm

    for _ in tqdm(x for x in range(7)):
        pass
    assert re.match(r"^7it \[", published.last(published.ids()[0]))


def test_end_of_cell_draws_what_the_rate_limit_skipped(published, shell):
    from tqdm import tqdm

    bar = tqdm(total=10)
    bar.set_postfix(step=1)
    bar.set_postfix(step=2)  # too soon after the first draw: skipped
    assert "step=2" not in published.last(published.ids()[0])
    shell.events.trigger("post_run_cell", None)
    assert "step=2" in published.last(published.ids()[0])
    shell.events.trigger("post_run_cell", None)  # nothing new: nothing sent
    assert len(published.calls) == 2
    bar.close()


def test_disabled_bars_draw_nothing(published):
    from tqdm import tqdm

    for _ in tqdm(range(3), disable=True):
        pass
    # `disable=None` means "no bar on a non-terminal", as in stock tqdm
    for _ in tqdm(range(3), disable=None):
        pass
    assert published.calls == []


def test_every_entry_point_draws_lines_without_warnings(published):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import tqdm
        import tqdm.asyncio
        import tqdm.auto
        import tqdm.autonotebook
        import tqdm.notebook

        bars = [
            tqdm.tqdm(range(2)),
            tqdm.trange(2),
            tqdm.auto.tqdm(range(2)),
            tqdm.auto.trange(2),
            tqdm.autonotebook.tqdm(range(2)),
            tqdm.notebook.tqdm(range(2), display=False),
            tqdm.notebook.trange(2),
            tqdm.notebook.tnrange(2),
            tqdm.asyncio.tqdm(range(2)),
        ]
        for bar in bars:
            assert isinstance(bar, tqdm_line.LineMode), type(bar).__mro__
            for _ in bar:
                pass
    assert [str(w.message) for w in caught] == []
    assert len(published.ids()) == len(bars)


def test_no_monitor_thread(published):
    from tqdm import tqdm
    from tqdm._monitor import TMonitor

    for _ in tqdm(range(3)):
        pass
    assert tqdm.monitor_interval == 0
    assert tqdm.monitor is None
    assert not any(isinstance(t, TMonitor) for t in threading.enumerate())


def test_async_iteration(published):
    from tqdm.asyncio import tqdm

    async def numbers():
        for i in range(5):
            await asyncio.sleep(0)
            yield i

    async def main():
        return [i async for i in tqdm(numbers(), total=5)]

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert published.last(published.ids()[0]).startswith("100%|")


def test_modules_keep_their_real_loader(published):
    import tqdm.autonotebook
    import tqdm.std

    for module in (tqdm.std, tqdm.autonotebook):
        assert not isinstance(module.__loader__, tqdm_line.PatchingLoader)
        assert module.__spec__.loader is module.__loader__
        assert module.__loader__.get_source(module.__name__)


def test_tqdm_imported_before_install_is_patched(monkeypatch, shell):
    saved = _tqdm_modules()
    for name in saved:
        del sys.modules[name]
    record = Published()
    monkeypatch.setattr(tqdm_line, "publish_line", record)
    try:
        import tqdm
        import tqdm.auto

        assert not issubclass(tqdm.tqdm, tqdm_line.LineMode)
        tqdm_line.install_tqdm_line_mode(shell)
        tqdm_line.install_tqdm_line_mode(shell)  # again: no second hook, no double patch
        for _ in tqdm.auto.trange(3):
            pass
        assert issubclass(tqdm.tqdm, tqdm_line.LineMode)
        assert [type(f) for f in sys.meta_path].count(tqdm_line.TqdmImportHook) == 1
        assert shell.events.callbacks["post_run_cell"] == [tqdm_line.end_of_cell]
        assert len(record.ids()) == 1
    finally:
        sys.meta_path[:] = [
            f for f in sys.meta_path if not isinstance(f, tqdm_line.TqdmImportHook)
        ]
        for name in _tqdm_modules():
            del sys.modules[name]
        sys.modules.update(saved)


def test_gui_bars_draw_themselves(published):
    from tqdm import tqdm

    class Gui(tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, gui=True, **kwargs)

    bar = Gui(total=3)
    bar.update(3)
    bar.close()
    assert published.calls == []
