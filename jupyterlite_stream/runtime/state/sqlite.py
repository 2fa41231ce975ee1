"""Open sqlite3 connections, saved as database files and restored as open
in-memory connections holding the same data.

`Connection.serialize`/`deserialize` (Python 3.11+) copy the database in
memory; Python 3.10 goes through a temporary file with the backup API.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile

from .errors import StateError

HEADER = b"SQLite format 3\x00"


def database_bytes(conn: sqlite3.Connection) -> tuple[bytes, dict]:
    """The database as a file's bytes, and what to show about it; raises
    sqlite3.ProgrammingError for a closed connection."""
    if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
        data = b""  # a database nothing was written to: serialize() fails on it
    elif hasattr(conn, "serialize"):
        data = conn.serialize()
    else:  # Python 3.10
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "db.sqlite")
            target = sqlite3.connect(path)
            try:
                conn.backup(target)
            finally:
                target.close()
            with open(path, "rb") as file:
                data = file.read()
    source = conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return data, {"source": source, "tables": tables}


def open_database(name: str, data: bytes) -> sqlite3.Connection:
    """An in-memory connection holding `data`; StateError unless it is a
    sound database file (a state file is untrusted input)."""
    if data == b"":
        return sqlite3.connect(":memory:")
    if not data.startswith(HEADER):
        raise StateError(f"variable {name!r}: not an SQLite database file")
    conn = sqlite3.connect(":memory:")
    try:
        if hasattr(conn, "deserialize"):
            conn.deserialize(data)
        else:  # Python 3.10
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "db.sqlite")
                with open(path, "wb") as file:
                    file.write(data)
                source = sqlite3.connect(path)
                try:
                    source.backup(conn)
                finally:
                    source.close()
        conn.execute("PRAGMA trusted_schema=OFF")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StateError(f"variable {name!r}: damaged SQLite database ({check})")
    except sqlite3.Error as exc:
        conn.close()
        raise StateError(f"variable {name!r}: bad SQLite database: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn
