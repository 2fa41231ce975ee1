"""A real `jupyterlite-stream build` (`jupyter lite build` with the add-on),
once per module, and two builds that must fail with a clear message."""

from __future__ import annotations

import getpass
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyterlite_stream.builder.distribution import (
    CDN_TEMPLATE,
    CORE_FILES,
    KERNEL_PACKAGES,
    canon,
)
from jupyterlite_stream.builder.early import APPS as EARLY_APPS
from jupyterlite_stream.builder.early import SCRIPT_ID as EARLY_SCRIPT_ID
from jupyterlite_stream.builder.snapshot import SNAPSHOT, STAMP, make_snapshot

from .fakes import file_sha256

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "jupyterlite_stream" / "pyodide"
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "cell-1",
            "metadata": {},
            "outputs": [],
            "source": ["print(6 * 7)"],
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python", "language": "python", "name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def lite_build(lite_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """`jupyterlite-stream build` as a user runs it, in a folder holding a copy
    of the repository's jupyter-lite.json and a tiny notebook."""
    lite_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "jupyter-lite.json", lite_dir)
    content = lite_dir / "content"
    content.mkdir(exist_ok=True)
    (content / "tiny.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlite_stream.builder.cli",
            "build",
            "--contents",
            str(content),
            "--output-dir",
            str(lite_dir / "_output"),
            *args,
        ],
        cwd=lite_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )


#: set in the build's environment; its value must not reach the snapshot
MARKER = ("JLS_BUILD_MARKER", "marker-value-5f3a9c1e")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    lite_dir = tmp_path_factory.mktemp("lite")
    os.environ[MARKER[0]] = MARKER[1]
    try:
        run = lite_build(lite_dir)
    finally:
        del os.environ[MARKER[0]]
    assert run.returncode == 0, run.stdout + run.stderr
    return lite_dir / "_output"


@pytest.fixture(scope="module")
def pyodide_dir(site) -> Path:
    return site / "static" / "pyodide"


@pytest.fixture(scope="module")
def lock(pyodide_dir) -> dict:
    return json.loads((pyodide_dir / "pyodide-lock.json").read_text())


@pytest.fixture(scope="module")
def config_data(site) -> dict:
    return json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]


def is_url(file_name: str) -> bool:
    return "://" in file_name


def test_core_files(pyodide_dir):
    for name in (*CORE_FILES, "pyodide-lock.json"):
        assert (pyodide_dir / name).is_file(), name
    for name in CORE_FILES:
        assert file_sha256(pyodide_dir / name) == file_sha256(VENDORED / name), name


def test_content_built(site):
    assert (site / "files" / "tiny.ipynb").is_file()


def test_local_entries_exist_with_their_hash(pyodide_dir, lock):
    local = {k: e for k, e in lock["packages"].items() if not is_url(e["file_name"])}
    assert len(local) > 10
    for key, entry in local.items():
        path = pyodide_dir / entry["file_name"]
        assert path.is_file(), key
        assert "/" not in entry["file_name"], key
        assert entry["sha256"] == file_sha256(path), key


def test_every_wheel_is_listed(pyodide_dir, lock):
    listed = {e["file_name"] for e in lock["packages"].values()}
    for wheel in pyodide_dir.glob("*.whl"):
        assert wheel.name in listed


def test_kernel_packages_and_dependencies_are_local(lock):
    packages = lock["packages"]
    seen, todo = set(), [canon(n) for n in KERNEL_PACKAGES]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in packages, f"{name} is not in the lock"
        assert not is_url(packages[name]["file_name"]), f"{name} is not local"
        todo += [canon(d) for d in packages[name]["depends"]]
    assert set(map(canon, KERNEL_PACKAGES)) <= seen
    assert {"parso", "traitlets", "tqdm"} <= seen  # dependencies came along


def test_runtime_wheel_in_lock(pyodide_dir, lock):
    entry = lock["packages"]["jupyterlite-stream"]
    assert entry["imports"] == ["jupyterlite_stream"]
    assert (pyodide_dir / entry["file_name"]).is_file()


def test_numpy_from_cdn(lock):
    version = (VENDORED / "pyodide-version.txt").read_text().strip()
    numpy = lock["packages"]["numpy"]["file_name"]
    assert numpy.startswith("https://")
    assert numpy.startswith(CDN_TEMPLATE.format(version=version))
    assert numpy.endswith(".whl")


def test_lock_keys_are_canonical(lock):
    assert all(key == canon(key) for key in lock["packages"])


def test_kernel_settings(config_data):
    ours = config_data["litePluginSettings"]["jupyterlite-stream:kernel"]
    assert ours["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert ours["kernelPackages"] == list(KERNEL_PACKAGES)
    stock = config_data["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert ours["pipliteUrls"] == stock["pipliteUrls"]
    assert ours["pipliteUrls"]
    assert config_data["appName"] == "jupyterlite-stream demo"


def test_start_up_snapshot(pyodide_dir, config_data):
    """Made by Node at build time from the site's own Pyodide and wheels; the
    kernel is told where it is."""
    ours = config_data["litePluginSettings"]["jupyterlite-stream:kernel"]
    assert ours["snapshotUrl"] == f"./static/pyodide/{SNAPSHOT}"
    data = (pyodide_dir / SNAPSHOT).read_bytes()
    assert data[:2] == b"\x1f\x8b"  # gzip
    made = json.loads((pyodide_dir / STAMP).read_text())
    assert made["modules"] > 300  # IPython and what it imports
    assert made["heapBytes"] > len(data)


def test_snapshot_holds_nothing_of_the_build_machine(site, pyodide_dir):
    """No path of the build machine, user name or environment value in the
    published image (issue 14)."""
    data = gzip.decompress((pyodide_dir / SNAPSHOT).read_bytes())
    secrets = {
        "virtualenv": sys.prefix,
        "python": sys.executable,
        "cwd": os.getcwd(),
        "repository": str(REPO),
        "marker value": MARKER[1],
        "marker name": MARKER[0],
    }
    home = os.path.expanduser("~")
    if home not in ("/", "/root"):  # /root is in Pyodide's own build paths
        secrets["home"] = home
    user = getpass.getuser()
    if len(user) >= 5 and user != "pyodide":  # short names (root) are ordinary words
        secrets["user"] = user
    found = [what for what, value in secrets.items() if value.encode() in data]
    assert found == []


def test_snapshot_holds_no_path_of_the_output_folder(site, pyodide_dir):
    """Pyodide is loaded through a link in a temporary folder: freed strings
    of the path it was loaded from stay in the heap."""
    data = gzip.decompress((pyodide_dir / SNAPSHOT).read_bytes())
    assert str(site.parent).encode() not in data


def test_start_up_snapshot_is_reused_when_nothing_changed(pyodide_dir):
    before = (pyodide_dir / SNAPSHOT).stat().st_mtime_ns
    made = make_snapshot(pyodide_dir, list(KERNEL_PACKAGES))
    assert made["reused"]
    assert (pyodide_dir / SNAPSHOT).stat().st_mtime_ns == before


def test_federated_extension(site, config_data):
    (ours,) = [e for e in config_data["federated_extensions"] if e["name"] == "jupyterlite-stream"]
    assert "@jupyterlite/pyodide-kernel-extension:kernel" in ours["disabledExtensions"]
    assert "@jupyterlite/services-extension:kernel-client" in ours["disabledExtensions"]
    assert (site / "extensions" / "jupyterlite-stream" / ours["load"]).is_file()


HOST = re.compile(r"\b[a-z]+://([A-Za-z0-9][A-Za-z0-9.-]*)")


def strings(value, key=None):
    """Every string in a JSON value, with the key it is found under."""
    if isinstance(value, dict):
        for k, item in value.items():
            yield from strings(item, k)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, key)
    elif isinstance(value, str):
        yield key, value


def test_lock_references_hosts_only_in_file_names(lock):
    urls = [(key, s) for key, s in strings(lock) if HOST.search(s)]
    assert urls
    assert all(key == "file_name" for key, _ in urls)
    hosts = {HOST.search(s).group(1) for _, s in urls}
    assert hosts == {"cdn.jsdelivr.net"}


def test_no_other_file_references_a_host(pyodide_dir):
    """The core scripts are served as vendored; the one URL they contain is
    Pyodide's default `cdnUrl`, which only Node uses."""
    scanned = []
    for path in sorted(pyodide_dir.iterdir()):
        if path.suffix not in (".mjs", ".js", ".json") or path.name == "pyodide-lock.json":
            continue
        scanned.append(path.name)
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in HOST.finditer(text):
            before = text[max(0, match.start() - 80) : match.start()]
            assert "cdnUrl" in before, f"{path.name} references {match.group(0)}"
    assert {"pyodide.mjs", "pyodide.asm.mjs"} <= set(scanned)


# -- failing builds --------------------------------------------------------------------------


def test_missing_distribution_fails_clearly(tmp_path):
    run = lite_build(tmp_path / "lite", "--pyodide-dist", "/nonexistent")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Pyodide distribution not found" in output
    assert "/nonexistent" in output
    assert "Traceback" not in output


def test_incomplete_distribution_names_the_missing_file(tmp_path):
    dist = tmp_path / "pyodide"
    shutil.copytree(VENDORED, dist)
    (dist / "pyodide.asm.wasm").unlink()
    run = lite_build(tmp_path / "lite", "--pyodide-dist", str(dist))
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "pyodide.asm.wasm" in output
    assert "incomplete" in output
    assert not (
        tmp_path / "lite" / "_output" / "static" / "pyodide" / "pyodide-lock.json"
    ).exists()


def test_early_start_in_the_pages_that_start_a_kernel(site):
    """Each app page that starts a kernel carries the early start once, after
    the config script, naming the worker bundle the lab extension loads."""
    for app in EARLY_APPS:
        html = (site / app / "index.html").read_text()
        assert html.count(f'id="{EARLY_SCRIPT_ID}"') == 1, app
        assert html.index('id="jupyter-config-data"') < html.index(EARLY_SCRIPT_ID)
        (worker,) = re.findall(r'data-worker="\.\./([^"]+)"', html)
        assert (site / worker).is_file()
    assert EARLY_SCRIPT_ID not in (site / "tree" / "index.html").read_text()
