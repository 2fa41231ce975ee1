"""Issue 13 classes, in process: BUILD on a shared class, exponent bombs,
file and folder of one name, reserved names, short keys."""

from __future__ import annotations

import fractions
import pathlib

import pytest

from jupyterlite_stream.runtime.state import StateError, set_signing_key
from jupyterlite_stream.runtime.state.restricted import restricted_loads

# GLOBAL pathlib.PurePath; BUILD (None, {"__str__": str}) on the class itself
BUILD_ON_CLASS = (
    b"\x80\x05\x8c\x07pathlib\x94\x8c\x08PurePath\x94\x93\x94N}\x94\x8c\x07__str__\x94"
    b"\x8c\x08builtins\x94\x8c\x03str\x94\x93\x94s\x86\x94b."
)


def test_build_on_a_shared_class_is_refused_and_changes_nothing():
    before = pathlib.PurePath.__dict__.get("__str__")
    with pytest.raises(StateError):
        restricted_loads(BUILD_ON_CLASS)
    assert pathlib.PurePath.__dict__.get("__str__") is before
    assert str(pathlib.PurePath("/a")) == "/a"


def test_fraction_exponent_bomb_is_refused_quickly():
    payload = (
        b"\x80\x05\x8c\tfractions\x94\x8c\x08Fraction\x94\x93\x94\x8c\t1e4000000\x94\x85\x94R\x94."
    )
    with pytest.raises(StateError, match="exponent"):
        restricted_loads(payload)
    assert fractions.Fraction(1, 3) + 1 == fractions.Fraction(4, 3)


def test_short_signing_key_refused():
    with pytest.raises(StateError, match="too short"):
        set_signing_key(b"")


@pytest.mark.parametrize("key", [b"", "", b"another browser"])
def test_a_short_key_given_to_a_call_signs_and_trusts_nothing(key):
    """The page passes whatever its storage holds: a short key is no error
    (the file just is not trusted), and it never signs a file."""
    from jupyterlite_stream.runtime.state import export_state, import_state, inspect_state

    def scale(x):
        return 2 * x

    exported = export_state(namespace={"scale": scale, "v": 1}, signing_key=key, packages=[])
    assert not exported.signed
    preview = inspect_state(exported.data, signing_key=key)
    assert not preview.trusted and preview.needs_code and preview.needs_trust == ["scale"]
    target = {}
    report = import_state(exported.data, namespace=target, signing_key=key, file_roots=[])
    assert not report.trusted and target == {"v": 1}


def _state_with_files(tmp_path, names):
    from jupyterlite_stream.runtime.state import export_state

    root = tmp_path / "home"
    root.mkdir()
    for name in names:
        (root / name).write_text("x")
    return root, export_state(namespace={"v": 1}, file_roots=[root], packages=[]).data


def test_long_file_name_round_trips(tmp_path):
    from jupyterlite_stream.runtime.state import import_state

    name = "n" * 245
    root, data = _state_with_files(tmp_path, [name])
    (root / name).write_text("changed")
    import_state(data, namespace={}, file_roots=[root])
    assert (root / name).read_text() == "x"
    assert sorted(p.name for p in root.iterdir()) == [name]


def test_file_and_folder_of_one_name_refused_nothing_written(tmp_path):
    import copy
    import io
    import json
    import zipfile

    from jupyterlite_stream.runtime.state import import_state

    from .helpers import build, snapshot_tree

    root, data = _state_with_files(tmp_path, ["data.txt"])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(entries.pop("manifest.json"))
    twin = copy.deepcopy(manifest["files"][0])
    twin.update(path="data.txt/x", entry="files/0/data.txt/x")
    manifest["files"].append(twin)
    entries["files/0/data.txt/x"] = b"y"
    (root / "data.txt").write_text("before")
    before = snapshot_tree(root)
    with pytest.raises(StateError, match="also a folder|not a plain folder"):
        import_state(build(manifest, entries), namespace={}, file_roots=[root])
    assert snapshot_tree(root) == before


def test_reserved_name_refused():
    from jupyterlite_stream.runtime.state.manifest import is_valid_variable_name

    for name in ("get_ipython", "In", "Out", "exit", "quit", "__builtins__", "_ih"):
        assert not is_valid_variable_name(name)
