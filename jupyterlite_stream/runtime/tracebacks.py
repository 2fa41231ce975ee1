"""Tracebacks drawn without rebuilding the same tables for every error.

IPython's default ("Context") traceback renders each frame through
stack_data, which defines a new pygments lexer class per frame, so pygments
compiles Python's token regexes again for every frame; IPython also derives a
new pygments style per traceback. In Pyodide that was about 45 ms of every
traceback and 0.5 s of the first one, and every Stop shows a traceback: it was
most of a Stop's latency. The text drawn is the same (tests compare it with
the originals, kept in `ORIGINALS`).
"""

from __future__ import annotations

import functools
import linecache
import sys

#: the name the warm-up's code runs under; removed from every cache after it
_WARM_UP_FILE = "<jupyterlite-stream traceback warm-up>"
_NOTHING = object()
_WARM_UP_CODE = "def stopped():\n    raise KeyboardInterrupt\n\nstopped()\n"


#: what `install_fast_tracebacks` replaced: (owner, attribute name) -> the original
ORIGINALS: dict[tuple[object, str], object] = {}


def install_fast_tracebacks() -> None:
    """Make stack_data reuse one lexer class, and IPython one style and one
    terminal formatter per theme."""
    try:
        import stack_data
        import stack_data.core
    except ImportError:  # an IPython without stack_data: nothing to speed up
        return
    if ORIGINALS:
        return
    _replace(stack_data.core, "_pygmented_with_ranges", _pygmented_with_ranges)
    # a style class is not changed once made: the same arguments can share one
    _replace(
        stack_data, "style_with_executing_node", _memoized(stack_data.style_with_executing_node)
    )
    _share_theme_styles()


def _share_theme_styles() -> None:
    """IPython 9.12 (Pyodide's) makes a new pygments style class per traceback
    (later IPythons keep it on the theme) and so a new formatter, whose colour
    tables take a while to build: keep one of each per theme."""
    from IPython.core import ultratb
    from IPython.utils.PyColorize import Theme

    if "_pygments_style" in vars(Theme) or not hasattr(ultratb, "Terminal256Formatter"):
        return  # an IPython that caches them itself
    _replace(Theme, "as_pygments_style", _memoized(Theme.as_pygments_style))
    # a formatter keeps nothing of what it formatted: one per style can be shared
    _replace(ultratb, "Terminal256Formatter", _memoized(ultratb.Terminal256Formatter))


def _memoized(function):
    return functools.lru_cache(maxsize=8)(function)


def _replace(owner, name: str, replacement) -> None:
    ORIGINALS[(owner, name)] = getattr(owner, name)
    setattr(owner, name, replacement)


def restore_originals() -> None:
    """Put back what `install_fast_tracebacks` replaced (for tests)."""
    for (owner, name), original in ORIGINALS.items():
        setattr(owner, name, original)
    ORIGINALS.clear()


@functools.cache
def _lexer_class():
    """A Python lexer that marks the tokens of the executing node; made once,
    so pygments compiles its token table once."""
    from pygments.lexers.python import PythonLexer

    class ExecutingNodeLexer(PythonLexer):
        def __init__(self, ranges, **options):
            super().__init__(**options)
            self.ranges = ranges

        def get_tokens(self, text):
            offset = 0
            for ttype, value in super().get_tokens(text):
                if any(start <= offset < end for start, end in self.ranges):
                    ttype = ttype.ExecutingNode
                offset += len(value)
                yield ttype, value

    return ExecutingNodeLexer


def _pygmented_with_ranges(formatter, code, ranges):
    """stack_data's highlighter (same arguments, same lines) on the shared lexer."""
    import pygments

    try:
        highlighted = pygments.highlight(code, _lexer_class()(ranges, stripnl=False), formatter)
    except Exception:  # as stack_data: plain code rather than no traceback
        highlighted = code
    return highlighted.splitlines()


def warm_up(shell) -> None:
    """Draw one traceback so its first use (a student's first Stop) finds
    the formatter's tables and lazy imports ready; called before the start-up
    snapshot is taken. Leaves no trace of the warm-up's code behind."""
    linecache.cache[_WARM_UP_FILE] = (
        len(_WARM_UP_CODE),
        None,
        _WARM_UP_CODE.splitlines(True),
        _WARM_UP_FILE,
    )
    formatter = shell.InteractiveTB
    # the formatter keeps the last traceback it drew (for %debug): not this one
    kept = vars(formatter).get("tb", _NOTHING)
    try:
        exec(compile(_WARM_UP_CODE, _WARM_UP_FILE, "exec"), {})
    except KeyboardInterrupt:
        formatter.structured_traceback(*sys.exc_info())
    finally:
        if kept is _NOTHING:
            vars(formatter).pop("tb", None)
        else:
            formatter.tb = kept
        _forget_warm_up_source()


def _forget_warm_up_source() -> None:
    """Empty the source caches the warm-up filled: it runs before any code of
    the user's, so everything in them is the warm-up's."""
    linecache.cache.pop(_WARM_UP_FILE, None)
    for module_name in ("executing.executing", "stack_data.core"):
        source_class = getattr(sys.modules.get(module_name), "Source", None)
        if source_class is None:
            continue
        for name, value in vars(source_class).items():
            if "cache" in name and isinstance(value, dict):
                value.clear()
