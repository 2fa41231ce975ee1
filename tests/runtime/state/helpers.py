"""Building state files, good and tampered, for the tests."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import sqlite3
import zipfile
from pathlib import Path

from jupyterlite_stream.runtime.state import export_state


def sample_namespace() -> dict:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    return {"x": 1, "items": [1, 2, 3], "pair": (1, 2), "conn": conn}


def good_parts(root: Path) -> tuple[dict, dict[str, bytes]]:
    """(manifest, other entries) of a sound state file with a file under `root`."""
    (root / "data.txt").write_text("exported contents")
    report = export_state(namespace=sample_namespace(), file_roots=[root], packages=[])
    with zipfile.ZipFile(io.BytesIO(report.data)) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(entries.pop("manifest.json"))
    return manifest, entries


def build(manifest, entries: dict, *, fix=True, raw_manifest: bytes | None = None) -> bytes:
    """A zip of `entries` plus `manifest`; `fix` recomputes the size and
    sha256 the manifest lists for each entry that exists."""
    manifest = copy.deepcopy(manifest)
    if fix and isinstance(manifest, dict):
        records = [r for key in ("variables", "files") for r in manifest.get(key) or ()]
        for record in records if all(isinstance(r, dict) for r in records) else ():
            data = entries.get(record.get("entry"))
            if data is not None:
                record["size"], record["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", raw_manifest or json.dumps(manifest))
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every path under `root` (files with their bytes, folders, links)."""
    result = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(folder, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                result[rel] = b"link:" + os.readlink(path).encode()
            elif path.is_dir():
                result[rel] = b"dir"
            else:
                result[rel] = path.read_bytes()
    return result
