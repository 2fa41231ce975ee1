"""Assemble the Pyodide distribution a built site serves from `static/pyodide/`.

The result is self-contained for everything the kernel needs: the Pyodide
core, every wheel loaded at start, and a `pyodide-lock.json` that lists each
local file with its real sha256 (Pyodide rebuilds pure wheels, so the hashes
of its upstream lock never match the wheels of the package index). Packages
of the upstream lock that are not present locally (numpy, pandas ...) keep
their entry with an absolute URL on the Pyodide CDN, so they still load when
the site is online; with `cdn_url=""` they are left out instead.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
LOCK = "pyodide-lock.json"
UPSTREAM_LOCK = "pyodide-lock.upstream.json"
VERSION_FILE = "pyodide-version.txt"

#: what the kernel loads in one `loadPackage` call at start
KERNEL_PACKAGES = (
    "micropip",
    "piplite",
    "ipykernel",
    "comm",
    "pyodide-kernel",
    "ipython",
    "jedi",
    "jupyterlite-stream",
)

CDN_TEMPLATE = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"


class DistributionError(Exception):
    """A Pyodide distribution that cannot serve the kernel; the message says
    what is missing and where it was looked for."""


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Distribution:
    """A Pyodide distribution on disk: the package's vendored one, or a full
    one the user points at (a folder or a `.tar.bz2`/`.tar.gz` archive)."""

    root: Path
    lock: dict = field(repr=False)
    version: str = ""

    @classmethod
    def open(cls, path: Path, scratch: Path | None = None) -> Distribution:
        path = Path(path)
        if not path.exists():
            raise DistributionError(f"Pyodide distribution not found: {path}")
        if path.is_file():
            path = _extract(path, scratch or Path(tempfile.mkdtemp()))
        missing = [name for name in CORE_FILES if not (path / name).is_file()]
        lock_path = next((path / n for n in (UPSTREAM_LOCK, LOCK) if (path / n).is_file()), None)
        if lock_path is None:
            missing.append(LOCK)
        if missing:
            raise DistributionError(
                f"The Pyodide distribution in {path} is incomplete: missing {', '.join(missing)}"
            )
        try:
            lock = json.loads(lock_path.read_text(encoding="utf-8"))
            lock["packages"]
        except (ValueError, KeyError, TypeError) as err:
            raise DistributionError(f"{lock_path} is not a Pyodide lock file: {err}") from err
        version_file = path / VERSION_FILE
        version = version_file.read_text().strip() if version_file.exists() else ""
        return cls(root=path, lock=lock, version=version)


def assemble(
    dist: Distribution,
    extra_wheels: list[Path],
    out: Path,
    cdn_url: str = "",
    required: tuple[str, ...] = KERNEL_PACKAGES,
    depends: dict[str, list[str]] | None = None,
) -> dict:
    """Write the site's distribution into `out` and return its lock.

    Raises DistributionError when a package the kernel needs at start (or one
    of their dependencies) has no local file. `depends` replaces the
    dependencies read from a wheel (the requirements' resolver evaluated their
    markers for the browser).
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copy2(dist.root / name, out / name)

    packages: dict[str, dict] = {}
    for key, entry in dist.lock["packages"].items():
        entry = dict(entry)
        local = dist.root / entry["file_name"]
        if local.is_file():
            shutil.copy2(local, out / local.name)
            entry.update(file_name=local.name, sha256=sha256(local))
        elif cdn_url and not _is_url(entry["file_name"]):
            entry["file_name"] = cdn_url + entry["file_name"]
        elif not _is_url(entry["file_name"]):
            continue
        packages[canon(key)] = entry

    # wheels that are not in the upstream lock, or newer than its entry
    for wheel in [*sorted(dist.root.glob("*.whl")), *extra_wheels]:
        entry = wheel_entry(wheel)
        name = canon(entry["name"])
        if name in packages and not _is_url(packages[name]["file_name"]):
            continue
        shutil.copy2(wheel, out / wheel.name)
        if depends and name in depends:
            entry["depends"] = depends[name]
        packages[name] = entry

    _check_local_closure(packages, required, dist.root)
    lock = {"info": dist.lock.get("info", {}), "packages": dict(sorted(packages.items()))}
    (out / LOCK).write_text(json.dumps(lock, indent=1) + "\n", encoding="utf-8")
    return lock


def wheel_entry(wheel: Path) -> dict:
    """A lock entry for a pure-Python wheel, read from its METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode("utf-8"))
        top = {
            n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))
        }
    depends = []
    for req in meta.get_all("Requires-Dist") or []:
        if ";" in req:  # extras and environment markers: not needed at start
            continue
        depends.append(canon(re.split(r"[\s<>=!~\[(]", req.strip(), maxsplit=1)[0]))
    return {
        "name": meta["Name"],
        "version": meta["Version"],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256(wheel),
        "package_type": "package",
        "imports": sorted(t[:-3] if t.endswith(".py") else t for t in top),
        "depends": depends,
        "unvendored_tests": False,
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_local_closure(packages: dict, required: tuple[str, ...], root: Path) -> None:
    missing, seen, todo = [], set(), [canon(r) for r in required]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        entry = packages.get(name)
        if entry is None or _is_url(entry["file_name"]):
            missing.append(name)
            continue
        todo += [canon(d) for d in entry.get("depends", [])]
    if missing:
        raise DistributionError(
            "The kernel needs these packages at start, but no wheel was found for them "
            f"in {root}: {', '.join(sorted(missing))}"
        )


def _is_url(file_name: str) -> bool:
    return bool(re.match(r"^[a-z]+://", file_name))


def _extract(archive: Path, scratch: Path) -> Path:
    """Unpack a distribution tarball; return the folder holding `pyodide.mjs`."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
    except (tarfile.TarError, OSError, EOFError) as err:  # EOFError: a cut-off download
        raise DistributionError(f"Cannot unpack the Pyodide archive {archive}: {err}") from err
    found = sorted(scratch.rglob("pyodide.mjs"), key=lambda p: len(p.parts))
    if not found:
        raise DistributionError(f"The Pyodide archive {archive} holds no pyodide.mjs")
    return found[0].parent
