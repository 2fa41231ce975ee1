"""Tiny stand-ins for a Pyodide distribution and its wheels."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from pathlib import Path

from jupyterlite_stream.builder.distribution import CORE_FILES


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_wheel(
    folder: Path,
    name: str,
    version: str = "1.0",
    requires: tuple[str, ...] = (),
    modules: tuple[str, ...] | None = None,
) -> Path:
    """A real (small) pure-Python wheel; `modules` are paths inside it
    (default: `<name>/__init__.py`)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    dist_info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(wheel, "w") as zf:
        for module in modules if modules is not None else (f"{dist}/__init__.py",):
            zf.writestr(module, f"NAME = {name!r}\n")
        zf.writestr(f"{dist_info}/METADATA", meta)
        zf.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        zf.writestr(f"{dist_info}/RECORD", "")
    return wheel


def lock_entry(name: str, file_name: str, depends=(), version="1.0") -> dict:
    return {
        "name": name,
        "version": version,
        "file_name": file_name,
        "install_dir": "site",
        "sha256": "0" * 64,  # upstream hashes never match rebuilt wheels
        "package_type": "package",
        "imports": [name.replace("-", "_")],
        "depends": list(depends),
        "unvendored_tests": False,
    }


def make_core(folder: Path, skip: tuple[str, ...] = ()) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        if name not in skip:
            (folder / name).write_bytes(f"fake {name}\n".encode())


def make_dist(folder: Path, packages: dict | None = None, version: str | None = "1.2.3") -> Path:
    """A fake distribution: core files, a lock and a version file. The lock
    written is `pyodide-lock.json`, as in a full Pyodide release."""
    make_core(folder)
    lock = {"info": {"arch": "wasm32", "python": "3.14.2"}, "packages": packages or {}}
    (folder / "pyodide-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    if version is not None:
        (folder / "pyodide-version.txt").write_text(version + "\n")
    return folder


def make_tarball(source: Path, archive: Path, mode: str, arcname: str = "pyodide") -> Path:
    with tarfile.open(archive, mode) as tar:
        tar.add(source, arcname=arcname)
    return archive
