"""`jupyterlite_stream.builder.offline`: the manifest of the built site that
the service worker keeps offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyterlite_stream.builder.offline import (
    LAZY_CONTENT_BYTES,
    MANIFEST,
    OFFLINE_PLUGIN_ID,
    write_manifest,
)

from .fakes import file_sha256


def put(root: Path, relative: str, data: bytes | str = "x") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def output(tmp_path) -> Path:
    root = tmp_path / "_output"
    for relative in [
        "index.html",
        "jupyter-lite.json",
        "lab/index.html",
        "build/bundle.js",
        "build/bundle.js.map",
        "static/pyodide/pyodide.asm.wasm",
        "static/pyodide/kernel-snapshot.bin.gz",
        "static/pyodide/tqdm-4.67.1-py3-none-any.whl",
        "api/contents/all.json",
        "files/welcome.ipynb",
        "extensions/jupyterlite-stream/static/remoteEntry.abc.js",
        "service-worker.js",
        "service-worker-jupyterlite.js",
    ]:
        put(root, relative, f"content of {relative}")
    return root


def test_every_file_the_site_needs_is_listed_with_size_and_hash(output):
    manifest = write_manifest(output)
    files = manifest["files"]
    assert set(files) == {
        "index.html",
        "jupyter-lite.json",
        "lab/index.html",
        "build/bundle.js",
        "static/pyodide/pyodide.asm.wasm",
        "static/pyodide/kernel-snapshot.bin.gz",
        "static/pyodide/tqdm-4.67.1-py3-none-any.whl",
        "api/contents/all.json",
        "files/welcome.ipynb",
        "extensions/jupyterlite-stream/static/remoteEntry.abc.js",
    }
    wasm = output / "static/pyodide/pyodide.asm.wasm"
    assert files["static/pyodide/pyodide.asm.wasm"] == {
        "size": wasm.stat().st_size,
        "sha256": file_sha256(wasm),
    }
    assert json.loads((output / MANIFEST).read_text()) == manifest
    assert manifest["cache"] is True
    assert manifest["version"] == 1


def test_the_build_id_changes_with_any_file_and_only_then(output):
    first = write_manifest(output)["build"]
    assert write_manifest(output)["build"] == first  # the manifest itself is not listed
    put(output, "files/welcome.ipynb", "changed by the teacher")
    second = write_manifest(output)["build"]
    assert second != first
    put(output, "files/new.csv", "a,b\n")
    assert write_manifest(output)["build"] not in (first, second)


def test_large_content_files_wait_for_first_use(output):
    put(output, "files/data/big.csv", b"0" * (LAZY_CONTENT_BYTES + 1))
    put(output, "static/pyodide/big-core.wasm", b"0" * (LAZY_CONTENT_BYTES + 1))
    files = write_manifest(output)["files"]
    assert files["files/data/big.csv"]["lazy"] is True
    assert "lazy" not in files["static/pyodide/big-core.wasm"]  # the site's own files never
    assert "lazy" not in files["files/welcome.ipynb"]


def test_the_snapshot_is_marked_to_be_stored_unpacked(output):
    files = write_manifest(output)["files"]
    assert files["static/pyodide/kernel-snapshot.bin.gz"]["unpack"] == "gzip"
    assert sum("unpack" in entry for entry in files.values()) == 1


def test_the_setting_switches_the_cache_off(output):
    config = {"jupyter-config-data": {"litePluginSettings": {OFFLINE_PLUGIN_ID: {"cache": False}}}}
    put(output, "jupyter-lite.json", json.dumps(config))
    assert write_manifest(output)["cache"] is False


@pytest.mark.parametrize("text", ["", "{not json", '{"jupyter-config-data": []}', "[]"])
def test_a_broken_config_keeps_the_default(output, text):
    put(output, "jupyter-lite.json", text)
    assert write_manifest(output)["cache"] is True


def test_the_cdn_comes_from_the_lock_file(output, tmp_path):
    lock = put(
        tmp_path,
        "pyodide-lock.json",
        json.dumps(
            {
                "packages": {
                    "tqdm": {"file_name": "tqdm-4.67.1-py3-none-any.whl"},
                    "numpy": {"file_name": "https://cdn.example/pyodide/v1/full/numpy.whl"},
                }
            }
        ),
    )
    assert write_manifest(output, lock)["cdn"] == "https://cdn.example/pyodide/v1/full/"
    assert write_manifest(output, tmp_path / "missing.json")["cdn"] is None
