"""Automatic checkpoints under CPython: the fingerprint sees what a cell
changes and nothing else, a checkpoint is the signed state file of Export,
the size cap, and an interrupt that cuts a checkpoint short."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading

import pytest

from jupyterlite_stream.runtime.state import import_state, inspect_state
from jupyterlite_stream.runtime.state.checkpoint import fingerprint, make_checkpoint

KEY = "k" * 32


def namespace(tmp_path):
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x int)")
    db.execute("insert into t values (1)")
    db.commit()
    ns = {"scores": {"Ada": [12, 14]}, "n": 3, "db": db}
    exec("def best(d):\n    return max(d)\n", ns)
    (tmp_path / "notes.txt").write_text("remember me")
    return ns


def test_unchanged_state_keeps_its_fingerprint(tmp_path):
    ns = namespace(tmp_path)
    first = fingerprint(ns, [tmp_path])
    assert fingerprint(ns, [tmp_path]) == first
    print(ns["n"])  # a cell that only reads
    assert fingerprint(ns, [tmp_path]) == first


@pytest.mark.parametrize(
    "change",
    [
        lambda ns, p: ns.update(n=4),
        lambda ns, p: ns["scores"]["Ada"].append(15),
        lambda ns, p: ns["scores"].update(Grace=[15]),
        lambda ns, p: ns["db"].execute("insert into t values (2)"),
        lambda ns, p: (p / "notes.txt").write_text("remember me too"),
        lambda ns, p: (p / "new.txt").write_text("x"),
        lambda ns, p: ns.update(raw=bytearray(b"ab")),
        lambda ns, p: ns.pop("best"),
    ],
    ids=["rebind", "nested-append", "dict-key", "sqlite", "file-edit", "file-new", "new", "del"],
)
def test_a_change_changes_the_fingerprint(tmp_path, change):
    ns = namespace(tmp_path)
    before = fingerprint(ns, [tmp_path])
    change(ns, tmp_path)
    assert fingerprint(ns, [tmp_path]) != before


def test_bytearray_edited_in_place(tmp_path):
    ns = {"buf": bytearray(1000)}
    before = fingerprint(ns, [])
    ns["buf"][500] = 1
    assert fingerprint(ns, []) != before


def test_hostile_object_does_not_break_the_fingerprint(tmp_path):
    class Weird:
        def __len__(self):
            raise RuntimeError("no")

        def __getattribute__(self, name):
            if name == "__dict__":
                raise RuntimeError("no")
            return object.__getattribute__(self, name)

    assert fingerprint({"w": Weird()}, [])


def test_checkpoint_is_a_signed_state_file(tmp_path):
    ns = namespace(tmp_path)
    status, data, about, mark = make_checkpoint(
        KEY, None, None, namespace=ns, file_roots=[tmp_path]
    )
    assert status == "written"
    assert '"variables": 3' in about and '"databases": 1' in about and '"files": 1' in about
    again = make_checkpoint(KEY, mark, None, namespace=ns, file_roots=[tmp_path])
    assert again[0] == "unchanged" and again[1] is None
    preview = inspect_state(data, signing_key=KEY.encode())
    assert preview.trusted
    restored: dict = {}
    (tmp_path / "notes.txt").unlink()
    import_state(data, namespace=restored, signing_key=KEY.encode(), file_roots=[tmp_path])
    assert restored["best"](restored["scores"]) == "Ada"
    assert restored["db"].execute("select x from t").fetchone() == (1,)
    assert (tmp_path / "notes.txt").read_text() == "remember me"


def test_over_the_cap_is_not_checkpointed(tmp_path):
    ns = {"big": os.urandom(200_000)}
    status, data, about, _ = make_checkpoint(KEY, None, 100_000, namespace=ns, file_roots=[])
    assert status == "too-large" and data is None and '"size": ' in about


def test_interrupt_cuts_a_checkpoint_short(tmp_path):
    """SIGINT (what the page's signal raises in Pyodide) stops the export
    between two chunks of a large value."""
    ns = {f"part{i}": os.urandom(2**20) for i in range(40)}
    timer = threading.Timer(0.01, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in range(50):  # until the signal lands (it may come late)
            make_checkpoint(KEY, None, None, namespace=ns, file_roots=[])
    timer.cancel()


def test_the_step_check_stops_a_checkpoint_within_a_chunk(tmp_path):
    from jupyterlite_stream.runtime.state import archive

    calls = []

    def interrupted():
        calls.append(1)
        return len(calls) > 3

    ns = {"big": os.urandom(8 * archive.CHUNK)}
    with pytest.raises(KeyboardInterrupt):
        make_checkpoint(KEY, None, None, namespace=ns, file_roots=[], interrupted=interrupted)
    assert len(calls) == 4 and archive.step_check is None


@pytest.mark.parametrize("kind", [bytes, str])
def test_a_large_value_replaced_by_one_of_the_same_size_changes_it(kind):
    # large str/bytes are sampled, not hashed whole (a long step of C code)
    size = 3 * 2**20
    make = (lambda c: bytes([c]) * size) if kind is bytes else (lambda c: chr(c) * size)
    ns = {"data": make(65)}
    before = fingerprint(ns, [])
    assert fingerprint(ns, []) == before
    ns["data"] = make(66)
    assert fingerprint(ns, []) != before


def test_a_cut_checkpoint_is_answered_not_raised(monkeypatch):
    # raised into the worker, Pyodide would format its traceback first
    from jupyterlite_stream.runtime.state import browser

    calls = []

    def interrupted():
        calls.append(1)
        return len(calls) > 2

    monkeypatch.setattr(sys.modules["__main__"], "big", os.urandom(4 * 2**20), raising=False)
    assert browser.checkpoint(KEY, None, None, interrupted) == ["cancelled", None, "{}", None]


def _interrupted_after(k: int):
    calls = []

    def interrupted():
        calls.append(1)
        return len(calls) > k

    return interrupted, calls


@pytest.mark.parametrize(
    "value",
    [
        list(range(300_000)),
        {f"k{i}": float(i) for i in range(100_000)},
        [[i] for i in range(100_000)],
    ],
    ids=["list-of-ints", "dict", "nested-lists"],
)
def test_pickling_a_large_value_stops_within_one_frame(value):
    """A large value is pickled frame by frame (~64 KiB), checking between
    frames: not one long step of C code."""
    from jupyterlite_stream.runtime.state import archive

    interrupted, calls = _interrupted_after(5)
    with pytest.raises(KeyboardInterrupt):
        make_checkpoint(
            KEY, None, None, namespace={"big": value}, file_roots=[], interrupted=interrupted
        )
    assert len(calls) == 6 and archive.step_check is None


@pytest.mark.parametrize("value", [os.urandom(3 * 2**20), b"abc" * 2**20])
def test_the_compression_probe_and_the_chunks_are_steps(value):
    """The compression probe (three samples) and each chunk of an entry are
    one step each, incompressible or not."""

    steps = 1 + 3  # the fingerprint's one variable, the probe's samples
    interrupted, calls = _interrupted_after(steps + 2)
    with pytest.raises(KeyboardInterrupt):
        make_checkpoint(
            KEY, None, None, namespace={"big": value}, file_roots=[], interrupted=interrupted
        )
    assert len(calls) == steps + 3


def test_a_completed_checkpoint_of_large_values_imports_equal():
    numbers = list(range(300_000))
    table = {f"k{i}": [float(i)] for i in range(50_000)}
    raw = bytearray(os.urandom(2**20))
    interrupted, calls = _interrupted_after(10**9)
    status, data, _, _ = make_checkpoint(
        KEY,
        None,
        None,
        namespace={"numbers": numbers, "table": table, "raw": raw},
        file_roots=[],
        interrupted=interrupted,
    )
    assert status == "written" and len(calls) > 20
    restored: dict = {}
    import_state(data, namespace=restored, signing_key=KEY.encode(), file_roots=[])
    assert restored == {"numbers": numbers, "table": table, "raw": raw}
