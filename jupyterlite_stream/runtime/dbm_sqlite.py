"""A `dbm` over `sqlite3`, for kernels whose standard library has no `dbm`
(Pyodide's), so that `import dbm` and `shelve` work.

It behaves like CPython 3.13's `dbm.sqlite3` (written here, not copied): one
table of bytes keys and values in an SQLite file; flags 'r', 'w', 'c', 'n';
str keys and values are stored as UTF-8.
"""

from __future__ import annotations

import builtins
import os
import sys
import types
from collections.abc import MutableMapping


class error(OSError):
    """What `dbm.error` catches besides KeyError."""


_TABLE = "CREATE TABLE IF NOT EXISTS Dict (key BLOB UNIQUE NOT NULL, value BLOB NOT NULL)"


def _as_bytes(value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


class SqliteDbm(MutableMapping):
    """One open database; keys and values come back as bytes."""

    def __init__(self, path, flag: str = "r", mode: int = 0o666):
        if flag not in ("r", "w", "c", "n"):
            raise ValueError(f"flag must be 'r', 'w', 'c' or 'n', not {flag!r}")
        import sqlite3  # imported here: Pyodide loads it as a package of its own

        self._errors = sqlite3.Error
        self._path = os.fspath(path)
        exists = os.path.exists(self._path)
        if flag in ("r", "w") and not exists:
            raise error(f"need 'c' or 'n' flag to open new db: {self._path!r}")
        # The database lives in memory and is written to the file whole after
        # every change: SQLite's own file access (locks, partial writes) does
        # not work on the browser's file systems (the drive, IndexedDB).
        self._cx = sqlite3.connect(":memory:")
        self._readonly = flag == "r"
        if exists and flag != "n":
            with builtins.open(self._path, "rb") as file:
                data = file.read()
            try:
                if data:
                    self._cx.deserialize(data)
            except sqlite3.Error as exc:
                self._cx.close()
                raise error(f"{self._path}: {exc}") from None
        if not self._readonly:
            self._run(_TABLE)
            self._save()

    def _save(self):
        with builtins.open(self._path, "wb") as file:
            file.write(self._cx.serialize())

    def _run(self, sql, *args):
        if self._cx is None:
            raise error("DBM object has already been closed")
        try:
            return self._cx.execute(sql, args)
        except self._errors as exc:
            raise error(str(exc)) from None

    def _change(self, sql, *args):
        if self._readonly:
            raise error("attempt to write a readonly database")
        cursor = self._run(sql, *args)
        self._cx.commit()
        self._save()
        return cursor

    def __len__(self):
        return self._run("SELECT COUNT(key) FROM Dict").fetchone()[0]

    def __getitem__(self, key):
        row = self._run("SELECT value FROM Dict WHERE key = ?", _as_bytes(key)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key, value):
        self._change(
            "INSERT INTO Dict (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            _as_bytes(key),
            _as_bytes(value),
        )

    def __delitem__(self, key):
        if self._change("DELETE FROM Dict WHERE key = ?", _as_bytes(key)).rowcount == 0:
            raise KeyError(key)

    def __iter__(self):
        for (key,) in self._run("SELECT key FROM Dict").fetchall():
            yield bytes(key)

    def keys(self):
        return list(iter(self))

    def close(self):
        if self._cx is not None:
            self._cx.close()
            self._cx = None

    def sync(self):
        """Nothing to do: every write is committed at once."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(file, flag: str = "r", mode: int = 0o666):  # noqa: A001 - dbm's name
    """`dbm.open`."""
    return SqliteDbm(file, flag, mode)


def whichdb(filename) -> str | None:
    """`dbm.whichdb`: 'dbm.sqlite3' for our files, '' for others, None when
    the file does not exist."""
    filename = os.fspath(filename)
    if not os.path.exists(filename):
        return None
    with builtins.open(filename, "rb") as file:
        head = file.read(16)
    return "dbm.sqlite3" if head.startswith(b"SQLite format 3") else ""


def install_dbm() -> bool:
    """Provide `dbm` (and `dbm.sqlite3`) when the standard library has none.
    True when installed; a real `dbm` is left alone."""
    try:
        import dbm  # noqa: F401
    except ImportError:
        pass
    else:
        return False
    package = types.ModuleType("dbm", __doc__)
    sqlite_module = types.ModuleType("dbm.sqlite3", __doc__)
    for module in (package, sqlite_module):
        module.open = open
        module.error = (error, KeyError) if module is package else error
        module.whichdb = whichdb
    package.__path__ = []
    package.sqlite3 = sqlite_module
    sys.modules["dbm"] = package
    sys.modules["dbm.sqlite3"] = sqlite_module
    return True
