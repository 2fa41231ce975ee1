"""`jupyterlite_stream.runtime.errors`: the exception name the kernel reports,
checked against a real IPython shell that records errors like pyodide_kernel's
`Interpreter` does."""

from __future__ import annotations

import atexit
import builtins
import sys

import pytest
from IPython.core.history import HistoryManager
from IPython.core.interactiveshell import InteractiveShell

from jupyterlite_stream.runtime.errors import exception_name, install_error_names


class NoHistory(HistoryManager):
    """pyodide_kernel's CustomHistoryManager: no sqlite file."""

    def __init__(self, shell=None, config=None, **traits):
        self.enabled = False
        super().__init__(shell=shell, config=config, **traits)


def make_shell_class():
    """A fresh copy of pyodide_kernel's `Interpreter` error recording (its
    `_showtraceback` stores `str(etype)`), so patches do not leak."""

    class Shell(InteractiveShell):
        def init_history(self):
            self.history_manager = NoHistory(shell=self, parent=self)
            self.configurables.append(self.history_manager)

        def _showtraceback(self, etype, evalue, stb):
            self._last_traceback = {
                "ename": str(etype),
                "evalue": str(evalue),
                "traceback": stb,
            }

    return Shell


@pytest.fixture
def shell_factory(tmp_path, monkeypatch):
    """Makes the InteractiveShell singleton, and undoes what it changes in the
    process (`__main__`, builtins, its atexit hook)."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    builtin_names = set(vars(builtins))
    made = []

    def factory(patch=True):
        cls = make_shell_class()
        if patch:
            install_error_names(cls)
        shell = cls.instance()
        shell._last_traceback = None
        made.append((cls, shell))
        return shell

    yield factory
    for cls, shell in made:
        atexit.unregister(shell.atexit_operations)
        cls.clear_instance()
    for name in set(vars(builtins)) - builtin_names:
        delattr(builtins, name)


class CustomError(Exception):
    pass


def test_exception_name_of_builtin():
    assert exception_name(ZeroDivisionError) == "ZeroDivisionError"
    assert exception_name(KeyboardInterrupt) == "KeyboardInterrupt"


def test_exception_name_of_user_class():
    assert exception_name(CustomError) == "CustomError"


def test_exception_name_without_name_falls_back_to_str():
    class Odd:
        def __str__(self):
            return "odd"

    assert exception_name(Odd()) == "odd"
    assert exception_name(None) == "None"


def test_install_error_names_records_class_name():
    class Shell:
        pass

    install_error_names(Shell)
    shell = Shell()
    shell._showtraceback(ValueError, ValueError("bad value"), ["line 1", "line 2"])
    # no IPython compiler here, so no cell locations
    assert shell._last_traceback == {
        "locations": [],
        "ename": "ValueError",
        "evalue": "bad value",
        "traceback": ["line 1", "line 2"],
    }


def test_stock_recording_sends_class_repr(shell_factory):
    """The control: without the patch, the ename is `<class '...'>`."""
    shell = shell_factory(patch=False)
    shell.run_cell("1/0")
    assert shell._last_traceback["ename"] == "<class 'ZeroDivisionError'>"


def test_real_shell_zero_division(shell_factory):
    shell = shell_factory()
    result = shell.run_cell("1/0")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    recorded = shell._last_traceback
    assert recorded["ename"] == "ZeroDivisionError"
    assert recorded["evalue"] == "division by zero"
    assert isinstance(recorded["traceback"], list)
    assert recorded["traceback"]
    assert all(isinstance(line, str) for line in recorded["traceback"])
    assert "ZeroDivisionError" in "\n".join(recorded["traceback"])


def test_real_shell_user_defined_exception(shell_factory):
    shell = shell_factory()
    shell.run_cell("class BoomError(Exception):\n    pass\n\nraise BoomError('it broke')")
    recorded = shell._last_traceback
    assert recorded["ename"] == "BoomError"
    assert recorded["evalue"] == "it broke"
    assert "BoomError" in "\n".join(recorded["traceback"])


def test_real_shell_syntax_error(shell_factory):
    shell = shell_factory()
    shell.run_cell("def f(:\n    pass")
    assert shell._last_traceback["ename"] == "SyntaxError"


def test_real_shell_keyboard_interrupt(shell_factory):
    shell = shell_factory()
    shell.run_cell("raise KeyboardInterrupt")
    assert shell._last_traceback["ename"] == "KeyboardInterrupt"


def test_real_shell_success_records_nothing(shell_factory):
    shell = shell_factory()
    result = shell.run_cell("x = 6 * 7")
    assert result.success
    assert shell._last_traceback is None
    assert shell.user_ns["x"] == 42
