"""Kernel files that a reload would lose (home folder, /tmp), saved with the
state and written back on import.

The drive (/drive) is kept by JupyterLite itself, so it is never saved.
Restoring is two-phase so an import that fails leaves the disk as it was:
`stage` writes every file to a temporary name next to its target, `commit`
renames them over the targets (keeping backups until all succeeded).
"""

from __future__ import annotations

import os
import posixpath
import secrets
import stat
import sys
import tempfile

from .errors import StateError

DRIVE = "/drive"
#: caches and IPython's own profile: rebuilt by the kernel, not user files
SKIP_DIRS = {"__pycache__", ".cache", ".ipython", ".local", ".config"}


def default_roots() -> list[str]:
    """Home and /tmp in the browser kernel; nothing elsewhere (a desktop
    kernel's home folder is not something to zip up)."""
    if sys.platform != "emscripten":
        return []
    return [os.path.expanduser("~"), tempfile.gettempdir()]


def normalize_roots(roots) -> list[str]:
    result = []
    for root in roots:
        root = posixpath.normpath(os.path.abspath(os.fspath(root)))
        if root == DRIVE or root.startswith(DRIVE + "/") or root in result:
            continue
        result.append(root)
    return result


def collect(roots, max_file_bytes: int, max_total_bytes: int, exclude=()):
    """(files, skipped): files = [(root, relative path, absolute path, size)]
    under `roots`; skipped = [{"name", "kind": "file", "reason"}]."""
    files, skipped, total = [], [], 0
    exclude = {os.path.abspath(p) for p in exclude}
    for root in normalize_roots(roots):
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if path in exclude:
                    continue
                info = os.lstat(path)
                reason = None
                if stat.S_ISLNK(info.st_mode):
                    reason = "symbolic link (not followed)"
                elif not stat.S_ISREG(info.st_mode):
                    reason = "not a regular file"
                elif info.st_size > max_file_bytes:
                    reason = f"{info.st_size} bytes, over the limit of {max_file_bytes} per file"
                elif total + info.st_size > max_total_bytes:
                    reason = f"over the limit of {max_total_bytes} bytes for all files"
                if reason:
                    skipped.append({"name": path, "kind": "file", "reason": reason})
                    continue
                total += info.st_size
                files.append((root, rel, path, info.st_size))
    return files, skipped


class FileRestore:
    """Writes files back under `roots`, all or nothing."""

    def __init__(self, roots):
        self.roots = normalize_roots(roots)
        self._staged: list[tuple[str, str]] = []  # (temporary, target)
        self._made_dirs: list[str] = []

    def target(self, record: dict) -> str | None:
        """Where `record` goes, None when its root is not restored here;
        StateError when it would leave its root or hit a non-file."""
        root = record["root"]
        if root not in self.roots or not os.path.isdir(root):
            return None
        target = posixpath.join(root, record["path"])
        if posixpath.normpath(target) != target or not target.startswith(root + "/"):
            raise StateError(f"file path escapes its folder: {record['path']!r}")
        # every existing folder on the way must be a real folder, not a link out
        folder = root
        for part in record["path"].split("/")[:-1]:
            folder = posixpath.join(folder, part)
            if os.path.islink(folder) or (os.path.lexists(folder) and not os.path.isdir(folder)):
                raise StateError(f"cannot restore {target}: {folder} is not a plain folder")
        if os.path.isdir(target) and not os.path.islink(target):
            raise StateError(f"cannot restore {target}: it is a folder")
        return target

    def stage(self, target: str, data: bytes) -> None:
        folder = posixpath.dirname(target)
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = posixpath.dirname(folder)
        for folder in reversed(missing):
            os.mkdir(folder)
            self._made_dirs.append(folder)
        temporary = posixpath.join(
            posixpath.dirname(target), f".{posixpath.basename(target)}.{secrets.token_hex(4)}.tmp"
        )
        with open(temporary, "xb") as file:
            self._staged.append((temporary, target))
            file.write(data)

    def commit(self) -> None:
        done = []  # (target, backup or None)
        try:
            for temporary, target in self._staged:
                backup = None
                if os.path.lexists(target):
                    backup = temporary + ".bak"
                    os.replace(target, backup)
                done.append((target, backup))
                os.replace(temporary, target)
        except BaseException:
            for target, backup in reversed(done):
                if backup is not None:
                    os.replace(backup, target)
                elif os.path.lexists(target):
                    os.remove(target)
            self.rollback()
            raise
        for _, backup in done:
            if backup is not None:
                os.remove(backup)
        self._staged, self._made_dirs = [], []

    def rollback(self) -> None:
        """Remove staged files and the folders made for them."""
        for temporary, _ in self._staged:
            if os.path.lexists(temporary):
                os.remove(temporary)
        for folder in reversed(self._made_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        self._staged, self._made_dirs = [], []
