"""export_state -> import_state under CPython: values, storages, skips,
files, SQLite, functions and classes, signatures, packages."""

from __future__ import annotations

import asyncio
import collections
import datetime
import decimal
import fractions
import io
import json
import pathlib
import sqlite3
import threading
import uuid
import zipfile

import pytest

from jupyterlite_stream.runtime.state import (
    StateError,
    export_state,
    import_state,
    import_state_async,
    inspect_state,
    set_signing_key,
)

DATA = {
    "small_int": 7,
    "big_int": 2**200,
    "negative": -3,
    "pi": 3.14159,
    "nan": float("nan"),
    "inf": float("-inf"),
    "flag": True,
    "nothing": None,
    "text": "héllo ✓",
    "raw": b"\x00\x01binary",
    "buffer": bytearray(b"abc"),
    "numbers": [1, 2.5, "three", None],
    "nested": {"a": [1, {"b": (2, 3)}], "c": {"d": [[], {}]}},
    "int_keys": {1: "one", (2, 3): "tuple key"},
    "pair": (1, "two"),
    "unique": {1, 2, 3},
    "frozen": frozenset({"a", "b"}),
    "complex_": 1 + 2j,
    "span": range(0, 10, 2),
    "when": datetime.datetime(2024, 5, 6, 7, 8, 9, 123),
    "when_utc": datetime.datetime(2024, 5, 6, tzinfo=datetime.timezone.utc),
    "day": datetime.date(2024, 1, 2),
    "clock": datetime.time(13, 14),
    "delta": datetime.timedelta(days=2, seconds=5),
    "money": decimal.Decimal("12.3400"),
    "third": fractions.Fraction(1, 3),
    "ident": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
    "queue": collections.deque([1, 2, 3], maxlen=5),
    "tally": collections.Counter("abracadabra"),
    "groups": collections.defaultdict(list, {"x": [1]}),
    "where": pathlib.PurePosixPath("/drive/data.csv"),
    "local_path": pathlib.Path("results/out.txt"),
}


def roundtrip(ns, trust=False):
    report = export_state(namespace=ns, packages=[])
    target = {}
    result = import_state(report.data, namespace=target, trust=trust)
    return report, result, target


def storages(report) -> dict[str, str]:
    return {v["name"]: v["storage"] for v in report.variables}


@pytest.mark.parametrize("name", sorted(DATA))
def test_plain_data_round_trip_without_trust(name):
    report, result, target = roundtrip({name: DATA[name]})
    value, back = DATA[name], target[name]
    if name == "nan":
        assert back != back
    else:
        assert back == value
    assert type(back) is type(value)
    assert result.restored == [name] and result.skipped == []
    assert storages(report)[name] in ("json", "pickle-data")


def test_defaultdict_keeps_its_factory():
    _, _, target = roundtrip({"groups": DATA["groups"]})
    target["groups"]["new"].append(1)
    assert target["groups"]["new"] == [1]


def test_json_only_for_exact_json_values():
    ns = {"a": {"k": [1, "s", None, True, 2.5]}, "b": (1,), "c": {1: 2}, "d": float("nan")}
    report, _, _ = roundtrip(ns)
    assert storages(report) == {
        "a": "json",
        "b": "pickle-data",
        "c": "pickle-data",
        "d": "pickle-data",
    }


def test_shared_and_cyclic_data():
    shared = [1, 2]
    cyclic = [0]
    cyclic.append(cyclic)
    _, _, target = roundtrip({"pairs": [shared, shared], "cyclic": cyclic})
    assert target["pairs"][0] is target["pairs"][1]
    assert target["cyclic"][1] is target["cyclic"]


def test_deep_nesting_is_saved():
    deep = []
    for _ in range(5000):
        deep = [deep]
    report, result, target = roundtrip({"deep": deep})
    assert "deep" in target or result.skipped  # saved, or skipped with a reason
    assert "deep" in storages(report) or report.skipped


CODE = """
import math
from collections import OrderedDict as OD
rate = 2
counter = 0
def scale(x):
    return x * rate
def bump():
    global counter
    counter += 1
    return counter
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def norm(self):
        return math.hypot(self.x, self.y)
origin = Point(3, 4)
square = lambda v: v * v
helpers = [scale, square]
def make_counter():
    n = 0
    def step():
        nonlocal n
        n += 1
        return n
    return step
step = make_counter()
step()
"""


def code_namespace() -> dict:
    ns = {"__name__": "__main__"}
    exec(CODE, ns)
    return ns


def test_functions_and_classes_need_trust():
    report, result, target = roundtrip(code_namespace())
    code = {"scale", "bump", "Point", "origin", "square", "helpers", "step", "make_counter"}
    assert {n for n, s in storages(report).items() if s == "pickle-code"} == code
    assert {s["name"] for s in result.skipped} == code | {"math", "OD"}
    assert all(s["reason"].startswith("needs trust") for s in result.skipped)
    # an import runs the module's code: it needs trust too
    assert target["rate"] == 2 and "math" not in target and "scale" not in target
    assert storages(report)["OD"] == "module-import"


def test_functions_and_classes_with_trust():
    report, result, target = roundtrip(code_namespace(), trust=True)
    assert result.skipped == [] and result.trusted
    assert target["scale"](5) == 10
    target["rate"] = 3  # functions see the namespace they were restored into
    assert target["scale"](5) == 15
    assert target["bump"]() == 1 and target["counter"] == 1
    assert isinstance(target["origin"], target["Point"])
    assert target["origin"].norm() == 5.0
    assert target["square"](4) == 16
    assert target["helpers"][0] is target["scale"]
    assert target["step"]() == 2  # closure state came along
    assert target["OD"] is collections.OrderedDict


def test_skip_list_names_the_reason(tmp_path):
    handle = open(tmp_path / "f.txt", "w")  # noqa: SIM115
    try:
        ns = {
            "handle": handle,
            "gen": (i for i in range(3)),
            "lock": threading.Lock(),
            "cursor": sqlite3.connect(":memory:").cursor(),
            "ok": 1,
        }
        report = export_state(namespace=ns, packages=[])
    finally:
        handle.close()
    reasons = {s["name"]: s["reason"] for s in report.skipped}
    assert set(reasons) == {"handle", "gen", "lock", "cursor"}
    assert "open file" in reasons["handle"]
    assert "generator" in reasons["gen"]
    assert "lock" in reasons["lock"]
    assert "cursor" in reasons["cursor"]
    assert [v["name"] for v in report.variables] == ["ok"]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(report.data)).read("manifest.json"))
    assert {s["name"] for s in manifest["skipped"]} == set(reasons)
    target = {}
    result = import_state(report.data, namespace=target)
    assert {s["name"] for s in result.skipped} == set(reasons)
    assert "restored 1 variables" in result.summary()


def test_ipython_names_left_out():
    ns = {"In": [""], "Out": {}, "_": 1, "__": 2, "_i3": "x", "_oh": {}, "exit": None,
          "get_ipython": print, "_private": 3, "kept": 4}  # fmt: skip
    report = export_state(namespace=ns, packages=[])
    assert [v["name"] for v in report.variables] == ["kept"]


def test_sqlite_memory_connection_round_trip():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE pupils (name TEXT, grade INT)")
    conn.executemany("INSERT INTO pupils VALUES (?, ?)", [("Ada", 5), ("Bo", 4)])
    conn.commit()
    report, result, target = roundtrip({"db": conn})
    assert storages(report)["db"] == "sqlite"
    assert report.variables[0]["tables"] == ["pupils"]
    rows = target["db"].execute("SELECT * FROM pupils ORDER BY name").fetchall()
    assert rows == [("Ada", 5), ("Bo", 4)]
    target["db"].execute("INSERT INTO pupils VALUES ('Cy', 3)")  # writable


def test_sqlite_file_connection_and_closed_one(tmp_path):
    conn = sqlite3.connect(tmp_path / "school.db")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (42)")
    conn.commit()
    closed = sqlite3.connect(":memory:")
    closed.close()
    report, result, target = roundtrip({"db": conn, "closed": closed})
    assert report.variables[0]["source"] == str(tmp_path / "school.db")
    assert target["db"].execute("SELECT x FROM t").fetchall() == [(42,)]
    assert [s["name"] for s in report.skipped] == ["closed"]


def test_files_round_trip(tmp_path):
    home, other = tmp_path / "home", tmp_path / "other"
    (home / "sub").mkdir(parents=True)
    (home / "notes.txt").write_text("remember")
    (home / "sub" / "data.bin").write_bytes(bytes(range(256)))
    (home / "big.bin").write_bytes(b"x" * 2000)
    (home / "__pycache__").mkdir()
    (home / "__pycache__" / "m.pyc").write_bytes(b"cache")
    (home / "link").symlink_to(home / "notes.txt")
    report = export_state(namespace={}, file_roots=[home], max_file_bytes=1000, packages=[])
    assert sorted(f["path"] for f in report.files) == ["notes.txt", "sub/data.bin"]
    reasons = {s["name"]: s["reason"] for s in report.skipped}
    assert "over the limit" in reasons[str(home / "big.bin")]
    assert "symbolic link" in reasons[str(home / "link")]
    for path in ("notes.txt", "sub/data.bin"):
        (home / path).unlink()
    (home / "sub").rmdir()
    result = import_state(report.data, namespace={}, file_roots=[home, other])
    assert (home / "notes.txt").read_text() == "remember"
    assert (home / "sub" / "data.bin").read_bytes() == bytes(range(256))
    assert sorted(result.files) == [str(home / "notes.txt"), str(home / "sub" / "data.bin")]
    assert not [p for p in home.rglob("*.tmp")]


def test_files_total_limit_and_roots_elsewhere(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    for i in range(3):
        (home / f"f{i}.txt").write_bytes(b"x" * 400)
    report = export_state(namespace={}, file_roots=[home], max_files_bytes=1000, packages=[])
    assert len(report.files) == 2
    assert "for all files" in report.skipped[0]["reason"]
    result = import_state(report.data, namespace={}, file_roots=[tmp_path / "elsewhere"])
    assert result.files == [] and {s["reason"] for s in result.skipped} == {
        "not saved in the file: over the limit of 1000 bytes for all files",
        "folder not restored here",
    }


def test_export_to_path_and_existing_file_replaced_whole(tmp_path):
    target = tmp_path / "state.zip"
    target.write_bytes(b"old")
    report = export_state(target, namespace={"a": 1}, packages=[])
    assert report.path == str(target) and report.data is None
    assert import_state(target, namespace={}).restored == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["state.zip"]


def test_import_merges_into_namespace():
    report = export_state(namespace={"a": 1, "b": 2}, packages=[])
    ns = {"b": "old", "c": 3}
    import_state(report.data, namespace=ns)
    assert ns == {"a": 1, "b": 2, "c": 3}


def test_inspect_state_preview():
    ns = code_namespace()
    ns["db"] = sqlite3.connect(":memory:")
    report = export_state(namespace=ns, packages=[{"name": "tqdm", "version": "4"}])
    preview = inspect_state(report.data)
    assert preview.format_version == 1 and preview.needs_code and not preview.signed
    assert preview.python.startswith("3.") and preview.pyodide is None
    assert {"name": "tqdm", "version": "4"} in preview.packages
    by_name = {v["name"]: v for v in preview.variables}
    assert by_name["rate"]["type"] == "int" and by_name["rate"]["preview"] == "2"
    assert by_name["db"]["storage"] == "sqlite" and by_name["Point"]["storage"] == "pickle-code"
    json.dumps(preview.to_dict())
    json.dumps(report.to_dict())
    assert "needs trust" in preview.summary() or "run code" in preview.summary()


def test_signature_makes_a_file_trusted():
    key = b"browser key, 16+ bytes"
    report = export_state(namespace=code_namespace(), signing_key=key, packages=[])
    assert inspect_state(report.data, signing_key=key).trusted
    assert not inspect_state(report.data, signing_key=b"other" * 8).trusted
    assert inspect_state(report.data).signed
    target = {}
    assert import_state(report.data, namespace=target, signing_key=key).trusted
    assert target["scale"](1) == 2
    # a wrong key is no error: the file just is not trusted
    target = {}
    result = import_state(report.data, namespace=target, signing_key=b"wrong key, 16+ bytes")
    assert not result.trusted and "scale" not in target and target["rate"] == 2


def test_default_signing_key():
    set_signing_key("kept by the browser")
    try:
        report = export_state(namespace=code_namespace(), packages=[])
        target = {}
        assert import_state(report.data, namespace=target).trusted
    finally:
        set_signing_key(None)
    assert not import_state(report.data, namespace={}).trusted


def test_tampered_signed_file_is_rejected():
    key = b"k" * 16
    report = export_state(namespace={"a": 1}, signing_key=key, packages=[])
    with zipfile.ZipFile(io.BytesIO(report.data)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries["variables/a.json"] = b"2"  # same size, other sha256
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    with pytest.raises(StateError, match="sha256"):
        import_state(buffer.getvalue(), namespace={}, signing_key=key)


def test_packages_recorded_and_reinstalled_when_trusted():
    packages = [
        {"name": "not-installed-pkg", "version": "1.0"},
        {"name": "pytest", "version": "8"},
    ]
    report = export_state(namespace={"a": 1}, packages=packages)
    result = import_state(report.data, namespace={})
    assert result.packages_missing == ["not-installed-pkg"]
    asked = []

    async def installer(name):
        asked.append(name)
        raise RuntimeError("offline")

    result = asyncio.run(import_state_async(report.data, namespace={}, installer=installer))
    assert asked == [] and result.packages_installed == []  # not trusted
    result = asyncio.run(
        import_state_async(report.data, namespace={}, trust=True, installer=installer)
    )
    assert asked == ["not-installed-pkg"]
    assert result.skipped[-1] == {
        "name": "not-installed-pkg",
        "kind": "package",
        "reason": "install failed: RuntimeError: offline",
    }


def test_packages_the_kernel_loads_itself_are_not_recorded(monkeypatch):
    """cloudpickle, loaded by the page's Export/Import State, is not a package
    the user installed: a state file does not list it."""
    from jupyterlite_stream.runtime.state import packages

    monkeypatch.setattr(packages, "_startup", {"ipython"})
    monkeypatch.setattr(
        packages, "installed", lambda: {"ipython": "9", "cloudpickle": "3.1.2", "tqdm": "4"}
    )
    monkeypatch.setattr(packages, "_names_on_path", lambda: {"ipython", "cloudpickle", "tqdm"})
    assert packages.user_installed() == [{"name": "tqdm", "version": "4"}]
