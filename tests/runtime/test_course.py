"""Issue 15 under CPython: `!` commands (`runtime.shell`) and the sqlite
`dbm` (`runtime.dbm_sqlite`) that makes `shelve` work."""

from __future__ import annotations

import asyncio
import shelve
import sys
import types

import pytest

from jupyterlite_stream.runtime import dbm_sqlite
from jupyterlite_stream.runtime.shell import (
    install_shell_commands,
    no_getoutput,
    pip_line,
    pip_shell_lines,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!pip install pyyaml\n", "%pip install pyyaml\n"),
        ("  !pip3 install -q a b\n", "  %pip install -q a b\n"),
        ("!python -m pip install x\n", "%pip install x\n"),
        ("! python3 -m pip install x", "%pip install x"),
        ("!ls -l\n", "!ls -l\n"),
        ("!pipx run a\n", "!pipx run a\n"),
        ("x = 1  # !pip install\n", "x = 1  # !pip install\n"),
    ],
)
def test_pip_lines(line, expected):
    assert pip_line(line) == expected


def test_pip_transform_runs_before_the_kernels():
    async def stock(lines):
        return lines

    kernel = types.SimpleNamespace(
        interpreter=types.SimpleNamespace(),
        lite_transform_manager=types.SimpleNamespace(line_transforms=[stock]),
    )
    install_shell_commands(kernel)
    install_shell_commands(kernel)
    assert kernel.lite_transform_manager.line_transforms == [pip_shell_lines, stock]
    lines = asyncio.run(pip_shell_lines(["!pip install a\n", "print(1)\n"]))
    assert lines == ["%pip install a\n", "print(1)\n"]


def test_other_commands_print_one_line(capsys):
    kernel = types.SimpleNamespace(interpreter=types.SimpleNamespace())
    install_shell_commands(kernel)
    assert kernel.interpreter.system("ls -l data") is None
    assert no_getoutput("head file.txt") == []
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith("!ls: shell commands are not available in the browser")
    assert err[1].startswith("!head: ")


def test_ipython_shell_commands(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        install_shell_commands(types.SimpleNamespace(interpreter=shell))
        result = shell.run_cell("!ls\nfiles = !ls\n%sx ls")
        assert result.success
        assert shell.user_ns["files"] == []
        err = capsys.readouterr().err.splitlines()
        assert [line.split(":")[0] for line in err] == ["!ls"] * 3
    finally:
        InteractiveShell.clear_instance()


def test_dbm_round_trip(tmp_path):
    path = tmp_path / "db"
    with dbm_sqlite.open(path, "c") as db:
        db["a"] = "1"
        db[b"b"] = b"\x00\xff"
        db["a"] = "2"
        assert len(db) == 2
        assert sorted(db.keys()) == [b"a", b"b"]
        del db["b"]
        with pytest.raises(KeyError):
            del db["b"]
    with dbm_sqlite.open(path) as db:
        assert db[b"a"] == b"2"
        with pytest.raises(dbm_sqlite.error):
            db["x"] = "y"
    assert dbm_sqlite.whichdb(path) == "dbm.sqlite3"
    assert dbm_sqlite.whichdb(tmp_path / "none") is None
    with dbm_sqlite.open(path, "n") as db:
        assert len(db) == 0


def test_dbm_bad_input(tmp_path):
    with pytest.raises(dbm_sqlite.error, match="need 'c' or 'n'"):
        dbm_sqlite.open(tmp_path / "missing", "w")
    with pytest.raises(ValueError, match="flag"):
        dbm_sqlite.open(tmp_path / "x", "z")
    db = dbm_sqlite.open(tmp_path / "x", "c")
    db.close()
    with pytest.raises(dbm_sqlite.error, match="closed"):
        db["a"]


def test_shelve_over_our_dbm(tmp_path, monkeypatch):
    for name in ("dbm", "dbm.sqlite3"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    real_import = __builtins__["__import__"] if isinstance(__builtins__, dict) else __import__

    def no_real_dbm(name, *args, **kwargs):
        if name == "dbm" and "dbm" not in sys.modules:
            raise ImportError("no dbm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", no_real_dbm)
    assert dbm_sqlite.install_dbm()
    monkeypatch.setattr(shelve, "dbm", sys.modules["dbm"], raising=False)
    with shelve.open(str(tmp_path / "scores")) as db:
        db["ada"] = {"score": [1, 2, 3]}
    with shelve.open(str(tmp_path / "scores"), "r") as db:
        assert db["ada"] == {"score": [1, 2, 3]}
    assert not dbm_sqlite.install_dbm()
