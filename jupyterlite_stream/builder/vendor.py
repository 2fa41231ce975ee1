"""Vendor a minimal Pyodide distribution into the Python package.

Run while building the wheel (npm script `build:pyodide`), with the standard
library only: the core files come from the npm package `pyodide` (a pinned
devDependency), the pure-Python wheels the kernel loads at start from the
package index pip is configured with. The kernel's own lock file is written
later, at `jupyter lite build` time (see `distribution.py`); here the upstream
lock is kept whole as `pyodide-lock.upstream.json`.

    python vendor.py --core node_modules/pyodide --out ../jupyterlite_stream/pyodide
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CORE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]

#: what the kernel imports at start, plus tqdm and cloudpickle (line-mode
#: progress bars and state export); their dependencies follow from the lock
ROOTS = ["micropip", "ipython", "jedi", "tqdm", "cloudpickle"]

#: needed by pyodide-kernel but missing from Pyodide's lock: (name, version)
EXTRA = [("comm", "0.2.3")]

UPSTREAM_LOCK = "pyodide-lock.upstream.json"
VERSION_FILE = "pyodide-version.txt"


def closure(packages: dict, roots: list[str]) -> list[str]:
    """The roots and everything they depend on, by lock name."""
    seen: set[str] = set()
    todo = [canon(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [canon(d) for d in packages[name]["depends"]]
    return sorted(seen)


def canon(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def download(requirements: list[str], dest: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.14",
            "--dest",
            str(dest),
            *requirements,
        ],
        check=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--core", type=Path, required=True, help="the npm package `pyodide`")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    lock = json.loads((args.core / "pyodide-lock.json").read_text())
    packages = {canon(k): v for k, v in lock["packages"].items()}
    names = closure(packages, ROOTS)
    requirements = [f"{packages[n]['name']}=={packages[n]['version']}" for n in names]
    requirements += [f"{n}=={v}" for n, v in EXTRA]

    with tempfile.TemporaryDirectory() as tmp:
        download(requirements, Path(tmp))
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        for name in CORE_FILES:
            shutil.copy2(args.core / name, args.out / name)
        for wheel in sorted(Path(tmp).glob("*.whl")):
            shutil.copy2(wheel, args.out / wheel.name)
    (args.out / UPSTREAM_LOCK).write_text(json.dumps(lock) + "\n")
    version = json.loads((args.core / "package.json").read_text())["version"]
    (args.out / VERSION_FILE).write_text(version + "\n")
    print(f"vendored Pyodide {version} and {len(requirements)} wheels to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
