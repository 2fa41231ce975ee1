"""Automatic checkpoints: the state file of Export, made in the kernel's idle
time when a cell changed something, for the page to keep in browser storage.

    fingerprint() -> str                      # cheap: skip unchanged states
    make_checkpoint(key, previous, max_bytes) -> (status, data, summary JSON, fp)

A checkpoint is cut short by the page's interrupt signal (KeyboardInterrupt
raised between export steps: the archive is written in chunks, see
archive.ArchiveWriter.add), so the cell the student runs next starts at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib

from . import _user_namespace, archive, export_state
from . import files as kernel_files
from . import namespace as kernel_namespace

#: items of a container looked at one by one; larger ones are summarised by
#: their length and a sample, which keeps the fingerprint far below the
#: cost of an export (a mutation inside a large value that keeps its length
#: and its sampled items is seen at the next change that is)
SAMPLE = 64
DEPTH = 3
#: str and bytes longer than this are fingerprinted by id, length and a
#: sample of SAMPLE_BYTES (see _sampled_digest), smaller ones by their hash
LARGE = 256 * 1024
SAMPLE_BYTES = 64 * 1024


def fingerprint(ns: dict | None = None, roots=None, check=None) -> str:
    """A digest of what an export would save, taken without exporting: the
    variables' names, types and shallow contents, the files' names, sizes
    and modification times, and the change counters of open databases."""
    ns, hidden = _user_namespace(ns)
    digest = hashlib.sha256()
    for name, value in sorted(kernel_namespace.user_variables(ns, hidden), key=_first):
        if check is not None:
            check()  # hashing a large new value is one long step of C code
        digest.update(name.encode())
        digest.update(repr(_shape(value, DEPTH)).encode())
    roots = kernel_files.default_roots() if roots is None else roots
    digest.update(repr(_files(roots)).encode())
    return digest.hexdigest()


def _first(item):
    return item[0]


def _shape(value, depth: int):
    """What changes when `value` changes, in the usual cases; never raises."""
    try:
        return _shape_of(value, depth)
    except Exception:  # a user object whose __len__ or __dict__ blows up
        return (type(value).__qualname__, id(value))


def _shape_of(value, depth: int):
    kind = type(value)
    if kind in (str, bytes) and len(value) > LARGE:
        return (kind.__name__, id(value), len(value), _sampled_digest(value))
    if value is None or kind in (bool, int, float, complex, str, bytes):
        return (kind.__name__, hash(value))
    if isinstance(value, sqlite3.Connection):
        try:
            return ("sqlite", id(value), value.total_changes)
        except sqlite3.ProgrammingError:  # closed
            return ("sqlite-closed", id(value))
    if isinstance(value, (bytearray, memoryview)) or hasattr(value, "__array_interface__"):
        # mutable buffers (bytearray, numpy arrays) change in place
        return (kind.__qualname__, id(value), _buffer_digest(value))
    if depth <= 0:
        return (kind.__qualname__, id(value), _length(value))
    if isinstance(value, dict):
        items = _sample(list(value.items()))
        return (kind.__qualname__, len(value), [(repr(k), _shape(v, depth - 1)) for k, v in items])
    if isinstance(value, (list, tuple)):
        return (kind.__qualname__, len(value), [_shape(v, depth - 1) for v in _sample(value)])
    if isinstance(value, (set, frozenset)):
        return (kind.__qualname__, len(value), hash(frozenset(map(id, value))))
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict) and not isinstance(value, type):
        items = _sample(list(state.items()))
        return (kind.__qualname__, id(value), [(k, _shape(v, depth - 1)) for k, v in items])
    return (kind.__qualname__, id(value), _length(value))


def _sampled_digest(value) -> int:
    """A CRC of about SAMPLE_BYTES spread over a large immutable value.

    Hashing a whole 10 MiB `bytes` is one step of C code of ~0.2 s in Pyodide,
    which a cell asked meanwhile would wait for. An immutable value keeps its
    id while it lives; the sample tells apart a new value of the same size
    that happens to get the address of a freed one."""
    step = max(1, len(value) // SAMPLE_BYTES)
    sample = value[::step]
    if isinstance(sample, str):
        sample = sample.encode("utf-8", "surrogatepass")
    return zlib.crc32(sample)


def _buffer_digest(value):
    try:
        view = memoryview(value)
        return (view.shape, zlib.crc32(view.cast("B")) if view.contiguous else id(value))
    except (TypeError, ValueError):
        return _length(value)


def _sample(items):
    if len(items) <= SAMPLE:
        return items
    half = SAMPLE // 2
    return list(items[:half]) + list(items[-half:])


def _length(value):
    try:
        return len(value)
    except Exception:
        return None


def _files(roots) -> list:
    found = []
    for root in kernel_files.normalize_roots(roots):
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in kernel_files.SKIP_DIRS)
            for name in sorted(names):
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                found.append((path, info.st_size, info.st_mtime_ns))
    return found


def make_checkpoint(
    signing_key,
    previous: str | None,
    max_bytes: int | None,
    *,
    namespace=None,
    file_roots=None,
    interrupted=None,
):
    """(status, data, summary JSON text, fingerprint):

    - "unchanged": the fingerprint is `previous`; nothing exported;
    - "too-large": the state file would exceed `max_bytes` (data is None);
    - "written": `data` is the signed state file, as Export makes it.
    KeyboardInterrupt (the page's signal, or `interrupted()` turning true,
    checked between the steps of writing) propagates: the checkpoint is
    dropped, and the last good one stays where the page keeps it."""
    # Pyodide looks at the signal only every so many bytecodes: between large
    # steps of C code (hashing a chunk) that can be tens of milliseconds
    check = _raising(interrupted) if interrupted else None
    mark = fingerprint(namespace, file_roots, check)
    if mark == previous:
        return "unchanged", None, "{}", mark
    key = signing_key.encode() if isinstance(signing_key, str) else signing_key
    archive.step_check = check
    try:
        report = export_state(namespace=namespace, file_roots=file_roots, signing_key=key)
    finally:
        archive.step_check = None
    about = json.dumps(summary(report))
    if max_bytes is not None and report.size > max_bytes:
        return "too-large", None, about, mark
    return "written", report.data, about, mark


def _raising(interrupted):
    def check():
        if interrupted():
            raise KeyboardInterrupt

    return check


def summary(report) -> dict:
    """What the page's restore dialog says: counts and the size."""
    storages = [v.get("storage") for v in report.variables]
    databases = storages.count("sqlite")
    # `import numpy as np` is saved too, but a student does not count it
    imports = storages.count("module-import")
    return {
        "variables": len(storages) - databases - imports,
        "databases": databases,
        "files": len(report.files),
        "size": report.size,
        "skipped": [s.get("name") for s in report.skipped],
    }
