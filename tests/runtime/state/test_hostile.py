# ruff: noqa: E501  (the table of cases reads best one case a line)
"""Broken or hostile state files: each raises StateError naming the problem,
and leaves the namespace and the files exactly as they were."""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import stat
import zipfile
import zlib

import pytest

from jupyterlite_stream.runtime.state import Limits, StateError, import_state, inspect_state

from .helpers import build, good_parts, snapshot_tree


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def replace_entry(manifest, entries, name, data, storage=None):
    entries = dict(entries)
    entries[name] = data
    if storage:
        manifest = copy.deepcopy(manifest)
        for v in manifest["variables"]:
            if v.get("entry") == name:
                v["storage"] = storage
    return build(manifest, entries)


def edited(manifest, entries, change, fix=True):
    manifest = copy.deepcopy(manifest)
    change(manifest)
    return build(manifest, entries, fix=fix)


def zip_with(infos_and_data, manifest=None, entries=None):
    """A zip with raw ZipInfo entries added after a sound content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        if manifest is not None:
            zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in (entries or {}).items():
            zf.writestr(name, data)
        for info, data in infos_and_data:
            zf.writestr(info, data)
    return buffer.getvalue()


def info(name, mode=None, **attrs):
    zi = zipfile.ZipInfo(name)
    if mode is not None:
        zi.external_attr = mode << 16
    for key, value in attrs.items():
        setattr(zi, key, value)
    return zi


def var(manifest, name):
    return next(v for v in manifest["variables"] if v["name"] == name)


def set_var(which, **fields):
    return lambda m: var(m, which).update(fields)


def bomb(m, e):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", json.dumps(m))
        for n, d in e.items():
            zf.writestr(n, d)
        zf.writestr("zeros.bin", bytes(20 * 1024 * 1024), zipfile.ZIP_DEFLATED, 9)
    return buffer.getvalue()


def flip_byte_in_data(m, e):
    """Corrupt the compressed bytes of one entry (CRC check fails)."""
    entries = dict(e)
    entries["variables/items.json"] = b"[" + b"1," * 4000 + b"1]"
    data = bytearray(build(m, entries))
    start = data.index(b"variables/items.json") + len("variables/items.json") + 10
    data[start] ^= 0xFF
    return bytes(data)


def sqlite_garbage(m, e):
    garbage = e["variables/conn.sqlite"][:100] + os.urandom(len(e["variables/conn.sqlite"]) - 100)
    return replace_entry(m, e, "variables/conn.sqlite", garbage)


def many_entries(m, e):
    extra = {f"x/{i}": b"" for i in range(20)}
    return build(m, {**e, **extra})


def encrypted_flag(m, e):
    data = bytearray(build(m, e))
    # set bit 0 (encrypted) of the general purpose flags in the central directory
    at = data.index(b"PK\x01\x02")
    data[at + 8] |= 1
    return bytes(data)


def bzip2_entry(m, e):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", json.dumps(m))
        for n, d in e.items():
            zf.writestr(n, d, zipfile.ZIP_BZIP2 if n.endswith(".json") else zipfile.ZIP_STORED)
    return buffer.getvalue()


def truncated_tail(m, e):
    return build(m, e)[:-30]


def truncated_half(m, e):
    data = build(m, e)
    return data[: len(data) // 2]


def duplicate_entry(m, e):
    import warnings

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("manifest.json", json.dumps(m))
            for n, d in e.items():
                zf.writestr(n, d)
            zf.writestr("variables/x.json", b"2")
    return buffer.getvalue()


def size_lie(m, e):
    m = copy.deepcopy(m)
    var(m, "x")["size"] += 5
    return build(m, e, fix=False)


def sha_lie(m, e):
    entries = dict(e, **{"variables/x.json": b"2"})  # same size, other content
    return build(m, entries, fix=False)


def pickle_payload(marker, storage="pickle-data"):
    def make(m, e):
        return replace_entry(m, e, "variables/pair.pickle", pickle.dumps(Evil(marker)), storage)

    return make


def eval_payload(marker):
    class EvalEvil:
        def __reduce__(self):
            return eval, (f"open({str(marker)!r}, 'w').close()",)

    return lambda m, e: replace_entry(m, e, "variables/pair.pickle", pickle.dumps(EvalEvil()))


def memory_bomb(m, e):
    # bytes(2**40): a few bytes of pickle asking for a terabyte
    payload = b"\x80\x05\x8c\x08builtins\x94\x8c\x05bytes\x94\x93\x94\x8a\x06\x00\x00\x00\x00\x00\x01\x85\x94R\x94."
    return replace_entry(m, e, "variables/pair.pickle", payload)


# (id, make(manifest, entries) -> bytes, limits, message pattern)
CASES = [
    ("random-bytes", lambda m, e: os.urandom(500), None, "not a zip"),
    ("empty", lambda m, e: b"", None, "not a zip"),
    ("text-file", lambda m, e: b"hello, not a zip\n" * 10, None, "not a zip"),
    ("truncated-tail", truncated_tail, None, "truncated"),
    ("truncated-half", truncated_half, None, "truncated"),
    ("no-manifest", lambda m, e: zip_with([], entries=e), None, "no manifest.json"),
    ("manifest-not-json", lambda m, e: build(m, e, raw_manifest=b"{oops"), None, "not valid JSON"),
    ("manifest-a-list", lambda m, e: build([1, 2], e), None, "format tag"),
    ("wrong-format-tag", lambda m, e: edited(m, e, lambda x: x.update(format="zip")), None, "format tag"),
    ("future-version", lambda m, e: edited(m, e, lambda x: x.update(format_version=2)), None, "newer"),
    ("version-zero", lambda m, e: edited(m, e, lambda x: x.update(format_version=0)), None, "unknown state format version"),
    ("version-string", lambda m, e: edited(m, e, lambda x: x.update(format_version="1")), None, "unknown state format version"),
    ("variables-not-list", lambda m, e: edited(m, e, lambda x: x.update(variables={})), None, "'variables' must be a list"),
    ("entry-dotdot", lambda m, e: zip_with([(info("../evil.txt"), b"x")], m, e), None, "path traversal"),
    ("entry-absolute", lambda m, e: zip_with([(info("/etc/evil"), b"x")], m, e), None, "path traversal"),
    ("entry-backslash", lambda m, e: zip_with([(info("..\\evil"), b"x")], m, e), None, "path traversal"),
    ("entry-drive-letter", lambda m, e: zip_with([(info("C:/evil"), b"x")], m, e), None, "path traversal"),
    ("entry-symlink", lambda m, e: zip_with([(info("link", stat.S_IFLNK | 0o777), b"/etc/passwd")], m, e), None, "symbolic link"),
    ("entry-directory", lambda m, e: zip_with([(info("folder/"), b"")], m, e), None, "directory"),
    ("entry-twice", duplicate_entry, None, "appears twice"),
    ("entry-encrypted", encrypted_flag, None, "encrypted"),
    ("entry-bzip2", bzip2_entry, None, "unsupported compression"),
    ("too-many-entries", many_entries, Limits(max_entries=10), "too many entries"),
    ("zip-bomb-ratio", bomb, None, "compression ratio"),
    ("total-too-large", lambda m, e: build(m, e), Limits(max_total_bytes=1000), "unpacks to more than"),
    ("entry-too-large", lambda m, e: build(m, e), Limits(max_entry_bytes=1000), "too large"),
    ("archive-too-large", lambda m, e: build(m, e), Limits(max_archive_bytes=1000), "larger than allowed"),
    ("manifest-too-large", lambda m, e: build(m, e), Limits(max_manifest_bytes=100), "larger than allowed"),
    ("listed-but-missing", lambda m, e: build(m, {k: v for k, v in e.items() if k != "variables/x.json"}), None, "missing: 'variables/x.json'"),
    ("present-not-listed", lambda m, e: build(m, dict(e, **{"variables/extra.json": b"1"})), None, "not listed in the manifest: 'variables/extra.json'"),
    ("size-mismatch", size_lie, None, "manifest says"),
    ("sha256-mismatch", sha_lie, None, "sha256"),
    ("crc-corrupt", flip_byte_in_data, None, "corrupt"),
    ("bad-sha256-field", lambda m, e: edited(m, e, set_var("x", sha256="zz"), fix=False), None, "bad sha256"),
    ("var-name-dunder", lambda m, e: edited(m, e, set_var("x", name="__builtins__")), None, "variable name not allowed"),
    ("var-name-not-identifier", lambda m, e: edited(m, e, set_var("x", name="import os")), None, "variable name not allowed"),
    ("var-listed-twice", lambda m, e: edited(m, e, set_var("items", name="x")), None, "listed twice"),
    ("unknown-storage", lambda m, e: edited(m, e, set_var("x", storage="exec")), None, "unknown storage"),
    ("manifest-entry-traversal", lambda m, e: edited(m, e, set_var("x", entry="../x.json")), None, "unsafe entry path"),
    ("bad-module-name", lambda m, e: edited(m, e, lambda x: x["variables"].append({"name": "m", "storage": "module-import", "module": "os; rm -rf"})), None, "bad module name"),
    ("file-path-traversal", lambda m, e: edited(m, e, lambda x: x["files"][0].update(path="../../etc/passwd")), None, "escapes its folder"),
    ("file-path-absolute", lambda m, e: edited(m, e, lambda x: x["files"][0].update(path="/etc/passwd")), None, "escapes its folder"),
    ("file-root-relative", lambda m, e: edited(m, e, lambda x: x["files"][0].update(root="home")), None, "plain absolute folder"),
    ("file-root-dotdot", lambda m, e: edited(m, e, lambda x: x["files"][0].update(root=x["files"][0]["root"] + "/../..")), None, "plain absolute folder"),
    ("json-garbage", lambda m, e: replace_entry(m, e, "variables/x.json", b"{nope"), None, "bad JSON"),
    ("pickle-garbage", lambda m, e: replace_entry(m, e, "variables/pair.pickle", b"\x80\x05garbage"), None, "data pickle is corrupt|export never writes"),
    ("pickle-truncated", lambda m, e: replace_entry(m, e, "variables/pair.pickle", e["variables/pair.pickle"][:-3]), None, "data pickle is corrupt"),
    ("pickle-memory-bomb", memory_bomb, None, "memory bomb"),
    ("sqlite-not-a-database", lambda m, e: replace_entry(m, e, "variables/conn.sqlite", b"not sqlite at all"), None, "not an SQLite database"),
    ("sqlite-garbage", sqlite_garbage, None, "SQLite database"),
]  # fmt: skip


@pytest.fixture
def setup(tmp_path):
    """A sound state's parts, a namespace and a file root to leave alone."""
    root = tmp_path / "home"
    root.mkdir()
    manifest, entries = good_parts(root)
    (root / "data.txt").write_text("contents before the import")
    (root / "other").mkdir()
    ns = {"x": "before", "keep": [1, 2]}
    return manifest, entries, root, ns


def check_rejected(data, ns, root, limits, pattern):
    before_ns, before_files = copy.deepcopy(ns), snapshot_tree(root)
    with pytest.raises(StateError, match=pattern):
        import_state(data, namespace=ns, file_roots=[root], limits=limits, trust=True)
    assert ns == before_ns
    assert snapshot_tree(root) == before_files


@pytest.mark.parametrize(
    "make, limits, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_file_rejected_and_nothing_changes(setup, make, limits, pattern):
    manifest, entries, root, ns = setup
    check_rejected(make(manifest, entries), ns, root, limits, pattern)


def test_cases_are_many():
    assert len(CASES) >= 30


def test_sound_file_does_import(setup):
    """The base of the cases above is fine: the rejections are the tampering."""
    manifest, entries, root, ns = setup
    report = import_state(build(manifest, entries), namespace=ns, file_roots=[root])
    assert ns["x"] == 1 and ns["keep"] == [1, 2]
    assert (root / "data.txt").read_text() == "exported contents"
    assert report.skipped == []


def test_os_system_payload_does_not_run(setup, tmp_path):
    manifest, entries, root, ns = setup
    marker = tmp_path / "pwned"
    data = pickle_payload(marker, "pickle-data")(manifest, entries)
    check_rejected(data, ns, root, None, "posix.system|not plain data|not protocol 5")
    assert not marker.exists()


def test_eval_payload_does_not_run(setup, tmp_path):
    manifest, entries, root, ns = setup
    marker = tmp_path / "pwned"
    check_rejected(
        eval_payload(marker)(manifest, entries), ns, root, None, "builtins.eval|not protocol 5"
    )
    assert not marker.exists()


def test_code_payload_without_trust_is_skipped_not_run(setup, tmp_path):
    manifest, entries, root, ns = setup
    marker = tmp_path / "pwned"
    data = pickle_payload(marker, "pickle-code")(manifest, entries)
    report = import_state(data, namespace=ns, file_roots=[root])
    assert not marker.exists()
    assert report.skipped == [
        {
            "name": "pair",
            "kind": "variable",
            "reason": "needs trust: this object runs code when loaded",
        }
    ]
    assert "pair" not in ns and ns["x"] == 1


def test_bad_signature_is_not_trust(setup, tmp_path):
    manifest, entries, root, ns = setup
    marker = tmp_path / "pwned"
    data = pickle_payload(marker, "pickle-code")(manifest, entries)
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.writestr("signature.json", json.dumps({"algorithm": "hmac-sha256", "signature": "00"}))
    report = import_state(
        buffer.getvalue(), namespace=ns, file_roots=[root], signing_key=b"k" * 16
    )
    assert not report.trusted and not marker.exists()


def test_symlinked_folder_on_disk_is_not_followed(setup, tmp_path):
    manifest, entries, root, ns = setup
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "sub").symlink_to(outside)
    manifest = copy.deepcopy(manifest)
    manifest["files"][0]["path"] = "sub/data.txt"
    check_rejected(build(manifest, entries), ns, root, None, "not a plain folder")
    assert list(outside.iterdir()) == []


def test_same_target_twice(setup):
    manifest, entries, root, ns = setup
    manifest = copy.deepcopy(manifest)
    twin = dict(manifest["files"][0], entry="files/0/twin")
    manifest["files"].append(twin)
    entries = dict(entries, **{"files/0/twin": b"twin"})
    check_rejected(build(manifest, entries), ns, root, None, "listed twice")


def test_failed_write_rolls_back(setup, monkeypatch):
    manifest, entries, root, ns = setup
    manifest = copy.deepcopy(manifest)
    second = dict(manifest["files"][0], path="new/dir/second.txt", entry="files/0/second")
    manifest["files"].append(second)
    entries = dict(entries, **{"files/0/second": b"2"})
    from jupyterlite_stream.runtime.state import files

    real_stage = files.FileRestore.stage

    def failing_stage(self, target, data):
        if target.endswith("second.txt"):
            raise OSError(28, "No space left on device")
        return real_stage(self, target, data)

    monkeypatch.setattr(files.FileRestore, "stage", failing_stage)
    check_rejected(build(manifest, entries), ns, root, None, "No space left")


def test_inspect_rejects_the_same(setup):
    manifest, entries, _, _ = setup
    with pytest.raises(StateError, match="sha256"):
        inspect_state(sha_lie(manifest, entries))


def test_state_error_is_value_error():
    assert issubclass(StateError, ValueError)


def test_deflate_level_nine_ratio_is_caught_and_ours_is_not(tmp_path):
    data = bytes(20 * 1024 * 1024)
    assert len(data) / len(zlib.compress(data, 9)) > Limits().max_ratio
    from jupyterlite_stream.runtime.state import export_state

    report = export_state(namespace={"zeros": data}, packages=[])
    target = {}
    import_state(report.data, namespace=target)
    assert target["zeros"] == data
