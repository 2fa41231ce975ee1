"""The fast tracebacks draw what IPython draws, and the warm-up leaves nothing
behind (CPython; Pyodide's IPython 9.12 path is held by the browser tests)."""

import importlib
import linecache
import sys
import textwrap
import types

import pytest
import stack_data.core
from IPython.core.ultratb import AutoFormattedTB

from jupyterlite_stream.runtime import tracebacks

LOOP = textwrap.dedent(
    """
    def count_up(limit):
        total = 0
        for n in range(10**9):
            total = (total +
                     n)
            if n == limit:
                raise KeyboardInterrupt
        return total
    """
)


@pytest.fixture
def fast_tracebacks():
    tracebacks.install_fast_tracebacks()
    try:
        yield
    finally:
        tracebacks.restore_originals()


@pytest.fixture
def loop_module(tmp_path, monkeypatch):
    (tmp_path / "loop_for_tracebacks.py").write_text(LOOP)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("loop_for_tracebacks")
    yield module
    sys.modules.pop("loop_for_tracebacks", None)


def draw(module, theme="linux"):
    formatter = AutoFormattedTB(mode="Context", theme_name=theme)
    try:
        module.count_up(3)
    except KeyboardInterrupt:
        return formatter.structured_traceback(*sys.exc_info())


@pytest.mark.parametrize("theme", ["linux", "nocolor", "lightbg"])
def test_a_traceback_reads_the_same_with_the_fast_path(loop_module, theme):
    before = draw(loop_module, theme)
    tracebacks.install_fast_tracebacks()
    try:
        after = [draw(loop_module, theme) for _ in range(3)]
    finally:
        tracebacks.restore_originals()
    assert "count_up" in "\n".join(before)
    assert after == [before] * 3


def test_the_lexer_class_is_made_once(loop_module, fast_tracebacks):
    for _ in range(3):
        draw(loop_module)
    assert tracebacks._lexer_class.cache_info().currsize == 1
    assert stack_data.core._pygmented_with_ranges is tracebacks._pygmented_with_ranges


def test_restore_puts_the_originals_back():
    original = stack_data.core._pygmented_with_ranges
    tracebacks.install_fast_tracebacks()
    tracebacks.install_fast_tracebacks()  # twice: still one layer
    tracebacks.restore_originals()
    assert stack_data.core._pygmented_with_ranges is original
    assert tracebacks.ORIGINALS == {}


def test_the_warm_up_leaves_no_trace(fast_tracebacks):
    formatter = AutoFormattedTB(mode="Context", theme_name="linux")
    shell = types.SimpleNamespace(InteractiveTB=formatter)
    tracebacks.warm_up(shell)
    assert "tb" not in vars(formatter)  # %debug finds no traceback
    assert tracebacks._WARM_UP_FILE not in linecache.cache
    for source_class in (stack_data.core.Source, sys.modules["executing.executing"].Source):
        for name, value in vars(source_class).items():
            if isinstance(value, dict):
                assert not any(tracebacks._WARM_UP_FILE in repr(key) for key in value), name


def test_the_warm_up_keeps_a_traceback_drawn_before(loop_module, fast_tracebacks):
    formatter = AutoFormattedTB(mode="Context", theme_name="linux")
    try:
        loop_module.count_up(1)
    except KeyboardInterrupt:
        formatter.structured_traceback(*sys.exc_info())
    kept = formatter.tb
    tracebacks.warm_up(types.SimpleNamespace(InteractiveTB=formatter))
    assert formatter.tb is kept
