"""Issue 13 fuzz: valid exports, mutated (bit flips, truncation, reordered
or duplicated entries, edited manifest fields, swapped storages,
recompressed entries), then imported without trust. Every case must end
one of two ways: StateError with a message and nothing changed, or a
restore that changed only what its report names. Fixed seed; the number
of cases run is printed (`-s`) and asserted."""

from __future__ import annotations

import copy
import fractions
import io
import json
import pathlib
import tempfile
import zipfile

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from jupyterlite_stream.runtime.state import StateError, import_state

from .helpers import build, good_parts, snapshot_tree

CASES = 10_000
RAN = {"cases": 0, "refused": 0, "restored": 0}
_WORK = pathlib.Path(tempfile.mkdtemp(prefix="state-fuzz-"))
_SOURCE = _WORK / "source"
_SOURCE.mkdir()
MANIFEST, ENTRIES = good_parts(_SOURCE)
TARGET = _WORK / "target"
TARGET.mkdir()
(TARGET / "keep.txt").write_text("kept")
SHARED = {
    "PurePath.__str__": pathlib.PurePath.__str__,
    "PurePath.__dict__": dict(vars(pathlib.PurePath)),
    "Fraction.__dict__": dict(vars(fractions.Fraction)),
}
STORAGES = ["json", "pickle-data", "pickle-code", "sqlite", "module-import", "bogus"]


def _mutate_manifest(data, manifest: dict) -> dict:
    manifest = copy.deepcopy(manifest)
    records = manifest["variables"] + manifest["files"]
    record = data.draw(st.sampled_from(records))
    key = data.draw(st.sampled_from(sorted(record) + ["extra"]))
    record[key] = data.draw(
        st.one_of(
            st.none(),
            st.integers(-(2**40), 2**40),
            st.text(max_size=30),
            st.sampled_from(STORAGES + ["../x", "/etc/passwd", "variables/x"]),
            st.lists(st.integers(), max_size=3),
        )
    )
    return manifest


def _swap_storages(data, manifest: dict) -> dict:
    manifest = copy.deepcopy(manifest)
    variables = manifest["variables"]
    a, b = data.draw(st.permutations(range(len(variables))))[:2]
    variables[a]["storage"], variables[b]["storage"] = (
        variables[b]["storage"],
        variables[a]["storage"],
    )
    return manifest


def _zip(items: list[tuple[str, bytes]], method=zipfile.ZIP_STORED, level=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, value in items:
            zf.writestr(zipfile.ZipInfo(name), value, compress_type=method, compresslevel=level)
    return buffer.getvalue()


@st.composite
def hostile_files(draw) -> bytes:
    data = draw(st.data())
    kind = draw(
        st.sampled_from(
            ["bits", "truncate", "reorder", "duplicate", "manifest", "swap", "recompress"]
        )
    )
    if kind in ("manifest", "swap"):
        mutate = _mutate_manifest if kind == "manifest" else _swap_storages
        manifest = mutate(data, MANIFEST)
        try:
            return build(manifest, ENTRIES, fix=draw(st.booleans()))
        except TypeError:  # an edited entry name that cannot be looked up
            return build(manifest, ENTRIES, fix=False)
    good = build(MANIFEST, ENTRIES)
    if kind == "bits":
        raw = bytearray(good)
        for at in draw(st.lists(st.integers(0, len(raw) * 8 - 1), min_size=1, max_size=8)):
            raw[at // 8] ^= 1 << (at % 8)
        return bytes(raw)
    if kind == "truncate":
        return good[: draw(st.integers(0, len(good) - 1))]
    items = [("manifest.json", json.dumps(MANIFEST).encode()), *ENTRIES.items()]
    if kind == "reorder":
        return _zip(draw(st.permutations(items)))
    if kind == "duplicate":
        extra = draw(st.sampled_from(items))
        changed = draw(st.booleans())
        return _zip([*items, (extra[0], extra[1] + b"x" if changed else extra[1])])
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    return _zip(items, method)


def _check_one(blob: bytes) -> None:
    namespace = {"mine": [1, 2], "x": "before"}
    before_ns = copy.deepcopy(namespace)
    originals = dict(namespace)
    before_tree = snapshot_tree(TARGET)
    try:
        report = import_state(
            blob, namespace=namespace, file_roots=[str(TARGET)], signing_key=None
        )
    except StateError as err:
        assert str(err) and len(str(err)) < 400 and "\n" not in str(err).strip()
        assert namespace == before_ns
        assert snapshot_tree(TARGET) == before_tree
        RAN["refused"] += 1
    else:
        changed = {k for k in namespace if k not in before_ns or namespace[k] is not originals[k]}
        assert changed <= set(report.restored), (changed, report.restored)
        RAN["restored"] += 1
        for name in report.restored:
            namespace.pop(name, None)
        _undo_files(before_tree)
    assert pathlib.PurePath.__str__ is SHARED["PurePath.__str__"]
    assert dict(vars(pathlib.PurePath)) == SHARED["PurePath.__dict__"]
    assert dict(vars(fractions.Fraction)) == SHARED["Fraction.__dict__"]
    RAN["cases"] += 1


def _undo_files(before: dict) -> None:
    """Put the target folder back after a (legitimate) restore."""
    for rel in sorted(set(snapshot_tree(TARGET)) - set(before), reverse=True):
        path = TARGET / rel
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    for rel, value in before.items():
        if value != b"dir":
            (TARGET / rel).write_bytes(value)


@seed(13)
@settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(hostile_files())
def _fuzz(blob: bytes) -> None:
    _check_one(blob)


def test_mutated_exports_end_in_one_of_two_ways():
    _check_one(build(MANIFEST, ENTRIES))  # the unmutated export restores
    assert RAN["restored"] == 1
    _fuzz()
    print(f"\nstate fuzz: {RAN}")
    assert RAN["cases"] >= CASES  # hypothesis ran every case asked for
    assert RAN["refused"] and RAN["restored"] > 1  # both outcomes seen
