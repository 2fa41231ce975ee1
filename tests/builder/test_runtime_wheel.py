"""`jupyterlite_stream.builder.runtime_wheel`: the wheel of the in-kernel runtime."""

from __future__ import annotations

import base64
import email.parser
import hashlib
import os
import subprocess
import sys
import zipfile

import pytest

import jupyterlite_stream
from jupyterlite_stream.builder.distribution import wheel_entry
from jupyterlite_stream.builder.runtime_wheel import build_runtime_wheel

VERSION = jupyterlite_stream.__version__
DIST_INFO = f"jupyterlite_stream-{VERSION}.dist-info"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_runtime_wheel(tmp_path_factory.mktemp("wheel") / "nested" / "dest")


@pytest.fixture(scope="module")
def names(wheel):
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_wheel_file_name(wheel):
    assert wheel.is_file()
    assert wheel.name == f"jupyterlite_stream-{VERSION}-py3-none-any.whl"


def test_wheel_holds_package_and_runtime(names, repo):
    for name in (
        "jupyterlite_stream/__init__.py",
        "jupyterlite_stream/_version.py",
        "jupyterlite_stream/runtime/__init__.py",
        "jupyterlite_stream/runtime/interrupt.py",
        "jupyterlite_stream/runtime/errors.py",
    ):
        assert name in names
    runtime = sorted(
        p.relative_to(repo).as_posix() for p in (repo / "jupyterlite_stream/runtime").rglob("*.py")
    )
    assert sorted(n for n in names if n.startswith("jupyterlite_stream/runtime/")) == runtime


def test_wheel_leaves_build_code_out(names):
    assert not [n for n in names if n.startswith("jupyterlite_stream/builder/")]
    assert not [n for n in names if n.startswith(("jupyterlite_stream/labextension/",))]
    assert not [n for n in names if n.startswith("jupyterlite_stream/pyodide/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    top = {n.split("/")[0] for n in names}
    assert top == {"jupyterlite_stream", DIST_INFO}


def test_wheel_files_are_the_sources(wheel, names, repo):
    with zipfile.ZipFile(wheel) as zf:
        for name in names:
            if name.startswith("jupyterlite_stream/"):
                assert zf.read(name) == (repo / name).read_bytes(), name


def test_metadata(wheel):
    with zipfile.ZipFile(wheel) as zf:
        meta = email.parser.Parser().parsestr(zf.read(f"{DIST_INFO}/METADATA").decode())
        wheel_info = email.parser.Parser().parsestr(zf.read(f"{DIST_INFO}/WHEEL").decode())
    assert meta["Name"] == "jupyterlite-stream"
    assert meta["Version"] == VERSION
    assert meta.get_all("Requires-Dist") == ["tqdm"]
    assert wheel_info["Wheel-Version"] == "1.0"
    assert wheel_info["Root-Is-Purelib"] == "true"
    assert wheel_info["Tag"] == "py3-none-any"


def test_record_matches_contents(wheel, names):
    with zipfile.ZipFile(wheel) as zf:
        lines = zf.read(f"{DIST_INFO}/RECORD").decode().splitlines()
        rows = dict((line.split(",", 1)[0], line.split(",", 1)[1]) for line in lines)
        assert set(rows) == set(names)
        assert rows[f"{DIST_INFO}/RECORD"] == ","
        for name in names:
            if name == f"{DIST_INFO}/RECORD":
                continue
            data = zf.read(name)
            digest = hashlib.sha256(data).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            assert rows[name] == f"sha256={expected},{len(data)}", name


def test_lock_entry_of_runtime_wheel(wheel):
    entry = wheel_entry(wheel)
    assert entry["name"] == "jupyterlite-stream"
    assert entry["version"] == VERSION
    assert entry["imports"] == ["jupyterlite_stream"]
    assert entry["depends"] == ["tqdm"]


def test_build_is_reproducible(wheel, tmp_path):
    again = build_runtime_wheel(tmp_path)
    assert again.read_bytes() == wheel.read_bytes()


def test_build_overwrites_existing_wheel(tmp_path):
    first = build_runtime_wheel(tmp_path)
    first.write_bytes(b"garbage")
    second = build_runtime_wheel(tmp_path)
    assert second == first
    assert zipfile.is_zipfile(second)


def test_wheel_installs_and_imports(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    code = (
        "import sys, jupyterlite_stream, jupyterlite_stream.runtime\n"
        "print(jupyterlite_stream.__version__)\n"
        "print(jupyterlite_stream.__file__)\n"
        "print(callable(jupyterlite_stream.runtime.install))\n"
        "try:\n"
        "    import jupyterlite_stream.builder\n"
        "    print('build importable')\n"
        "except ImportError:\n"
        "    print('no build')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    version, module_file, install_callable, build = run.stdout.splitlines()
    assert version == VERSION
    # imported from the extracted wheel, not from the editable checkout
    assert module_file == str(site / "jupyterlite_stream" / "__init__.py")
    assert install_callable == "True"
    assert build == "no build"
