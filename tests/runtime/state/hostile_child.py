"""Runs one hostile case of `hostile_cases` in this (fresh) process and prints
a JSON verdict on its last line: the outcome (refused with a message, or
restored with the report), what changed outside the report, time and peak
memory. `python -m tests.runtime.state.hostile_child CASE WORKDIR`.

Everything a hostile file could reach is snapshotted before and after the
import: the namespace (names, identity and repr of each value), every path
under the work folder, the attributes and behaviour of shared classes,
`sys.modules`, `builtins`, `sys.path`, the decimal context and the runtime's
signing key.
"""

from __future__ import annotations

import builtins
import collections
import datetime
import decimal
import fractions
import json
import os
import pathlib
import resource
import sys
import time
import traceback
import uuid
from pathlib import Path

from .helpers import snapshot_tree

SHARED = (
    pathlib.PurePath, pathlib.PurePosixPath, pathlib.Path, pathlib.PosixPath,
    fractions.Fraction, decimal.Decimal, datetime.datetime, datetime.date,
    datetime.timedelta, datetime.timezone, uuid.UUID, collections.OrderedDict,
    collections.defaultdict, collections.Counter, collections.deque,
)  # fmt: skip


def _behaviour() -> list[str]:
    """What shared classes do, as text: changed methods show here even
    when the attribute tables look alike."""
    return [
        str(pathlib.PurePath("/home/pyodide", "a.txt")),
        repr(pathlib.Path("/tmp") / "x"),
        str(fractions.Fraction(1, 3) + fractions.Fraction(1, 6)),
        str(decimal.Decimal("1.10") + 1),
        datetime.datetime(2020, 1, 2, 3, 4).isoformat(),
        str(datetime.date(2020, 1, 2) + datetime.timedelta(days=1)),
        str(uuid.UUID(int=5)),
        repr(collections.OrderedDict(a=1)),
        repr(decimal.getcontext()),
    ]


def _classes() -> dict:
    return {
        f"{cls.__module__}.{cls.__qualname__}": {k: id(v) for k, v in vars(cls).items()}
        for cls in SHARED
    }


def _tree(root: Path) -> dict[str, str]:
    """`snapshot_tree` as JSON: file contents as (shortened) hex and size."""

    def text(value: bytes) -> str:
        if value == b"dir" or value.startswith(b"link:"):
            return value.decode()
        return value.hex()[:2000] + f"/{len(value)}"

    return {rel: text(value) for rel, value in snapshot_tree(root).items()}


def _namespace(ns: dict) -> dict[str, list]:
    out = {}
    for name, value in ns.items():
        try:
            text = repr(value)[:500]
        except Exception as exc:  # noqa: BLE001
            text = f"<repr failed {exc!r}>"
        out[name] = [id(value), type(value).__name__, text]
    return out


def snapshot(ns: dict, work: Path) -> dict:
    from jupyterlite_stream.runtime import state

    return {
        "namespace": _namespace(ns),
        "tree": _tree(work),
        "classes": _classes(),
        "behaviour": _behaviour(),
        "modules": sorted(sys.modules),
        "builtins": {k: id(v) for k, v in vars(builtins).items()},
        "sys.path": list(sys.path),
        "cwd": os.getcwd(),
        "signing key": repr(state._signing_key),
    }


def diff(before: dict, after: dict) -> dict:
    changed = {}
    for key in before:
        a, b = before[key], after[key]
        if a == b:
            continue
        if isinstance(a, dict):
            names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            changed[key] = names
        elif key == "modules":
            changed[key] = sorted(set(a) ^ set(b))
        else:
            changed[key] = [str(a)[:300], str(b)[:300]]
    return changed


def _warm_up(work: Path) -> None:
    """One honest export and import first, so that modules the runtime
    imports lazily are not counted as the hostile file's doing."""
    from jupyterlite_stream.runtime.state import export_state, import_state, inspect_state

    scratch = work / "warm-up"
    scratch.mkdir()
    (scratch / "f.txt").write_text("x")
    import sqlite3

    conn = sqlite3.connect(":memory:")
    ns = {"a": 1, "b": (1, 2), "c": fractions.Fraction(1, 3), "conn": conn}
    data = export_state(namespace=ns, file_roots=[scratch], packages=[]).data
    inspect_state(data)
    import_state(data, namespace={}, file_roots=[scratch])
    for value in list(sys.modules.values()):  # lazy loaders seen by repr
        getattr(value, "__name__", None)
    for path in sorted(scratch.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    scratch.rmdir()


def main(case_name: str, work: Path) -> dict:
    from jupyterlite_stream.runtime.state import StateError

    from . import hostile_cases

    case = hostile_cases.CASES[case_name]
    _warm_up(work)
    prepared = case.prepare(work)
    ns = prepared.namespace
    # the check's own lazy imports (IPython for the magics) before the snapshot
    for module in prepared.preload:
        __import__(module)
    before = snapshot(ns, work)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    outcome, message, report = None, None, None
    try:
        result = prepared.run(ns)
        outcome, report = "restored", (result.to_dict() if result is not None else {})
    except StateError as exc:
        outcome, message = "refused", str(exc)
    except BaseException as exc:  # noqa: BLE001 (the verdict names it)
        outcome = f"crashed: {type(exc).__name__}"
        message = "".join(traceback.format_exception(exc))[-2000:]
    seconds = time.perf_counter() - start
    peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    after = snapshot(ns, work)
    problems = []
    if prepared.check is not None:
        try:
            prepared.check(ns, report, message, work)
        except AssertionError as exc:
            problems.append(f"check: {exc}")
    return {
        "outcome": outcome,
        "message": message,
        "report": report,
        "changed": diff(before, after),
        "seconds": seconds,
        "peak_mib": peak_mib,
        "problems": problems,
    }


if __name__ == "__main__":
    verdict = main(sys.argv[1], Path(sys.argv[2]))
    sys.stdout.flush()
    print("\nVERDICT " + json.dumps(verdict, default=str))
