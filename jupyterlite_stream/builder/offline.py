"""The offline manifest: every file of the built site with its size and
sha256, and a build id, so that the site's service worker can keep one whole
build in Cache Storage, check it file by file, and notice a new build.

`stream-offline.json` at the root of the output:

    {"version": 1, "build": "<id>", "cache": true, "cdn": "<url or null>",
     "cdnCacheMB": 300, "files": {"lab/index.html": {"size": 1234, "sha256": "..."},
     "files/big.csv": {"size": ..., "sha256": ..., "lazy": true},
     "static/pyodide/kernel-snapshot.bin.gz": {..., "unpack": "gzip"}, ...}}

`lazy` files (content files above LAZY_CONTENT_BYTES) are kept only once a
page opened them. `unpack` files are stored unpacked, once checked: the
start-up snapshot is read on every visit, and unpacking its ~55 MB each time
cost a warm start more than half a second here. The id is the hash of the
file list, so it changes exactly when some file of the site changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from .distribution import sha256
from .snapshot import SNAPSHOT

MANIFEST = "stream-offline.json"
MANIFEST_VERSION = 1
#: fetched by the browser's own service-worker update check, never through the worker
NOT_CACHED = {MANIFEST, "service-worker.js", "service-worker-jupyterlite.js"}
#: source maps are read only by the browser's developer tools
NOT_CACHED_SUFFIXES = (".map",)
#: content files the teacher added that are larger than this are kept offline
#: only after a page opened them once (a 200 MB data set would hold up every visit)
LAZY_CONTENT_BYTES = 5 * 2**20
CONTENT_FOLDER = "files"
#: stored unpacked by the service worker (the kernel reads either form)
UNPACKED = {f"static/pyodide/{SNAPSHOT}": "gzip"}
#: how much of the CDN's compiled packages (numpy, pandas ...) a browser keeps
CDN_CACHE_MB = 300
OFFLINE_PLUGIN_ID = "jupyterlite-stream:offline"


def site_files(output_dir: Path) -> list[str]:
    """The paths (relative, with `/`) of every file a page of the site may load."""
    found = []
    for path in output_dir.rglob("*"):
        if not path.is_file():
            continue
        relative = PurePosixPath(path.relative_to(output_dir).as_posix())
        if str(relative) in NOT_CACHED or relative.name.endswith(NOT_CACHED_SUFFIXES):
            continue
        found.append(str(relative))
    return sorted(found)


def file_entry(output_dir: Path, relative: str) -> dict:
    path = output_dir / relative
    size = path.stat().st_size
    entry = {"size": size, "sha256": sha256(path)}
    if relative.startswith(f"{CONTENT_FOLDER}/") and size > LAZY_CONTENT_BYTES:
        entry["lazy"] = True
    if relative in UNPACKED:
        entry["unpack"] = UNPACKED[relative]
    return entry


def build_id(files: dict[str, dict]) -> str:
    """A short hash of the whole file list: paths, sizes and hashes."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        entry = files[relative]
        digest.update(f"{relative}\0{entry['size']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()[:20]


def cdn_of_lock(lock_path: Path) -> str | None:
    """Where the kernel fetches packages that are not bundled (the folder of
    the first absolute `file_name` in the lock file), or None."""
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for package in lock.get("packages", {}).values():
        name = str(package.get("file_name", ""))
        if "://" in name:
            return name.rsplit("/", 1)[0] + "/"
    return None


def offline_settings(config_path: Path) -> dict:
    """`litePluginSettings["jupyterlite-stream:offline"]` of jupyter-lite.json."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for key in ("jupyter-config-data", "litePluginSettings", OFFLINE_PLUGIN_ID):
        config = config.get(key, {}) if isinstance(config, dict) else {}
    return config if isinstance(config, dict) else {}


def write_manifest(output_dir: Path, lock_path: Path | None = None) -> dict:
    """Write `stream-offline.json` for the site in `output_dir`; returns it."""
    files = {relative: file_entry(output_dir, relative) for relative in site_files(output_dir)}
    settings = offline_settings(output_dir / "jupyter-lite.json")
    manifest = {
        "version": MANIFEST_VERSION,
        "build": build_id(files),
        "cache": settings.get("cache", True) is not False,
        "cdn": cdn_of_lock(lock_path) if lock_path else None,
        "cdnCacheMB": CDN_CACHE_MB,
        "files": files,
    }
    (output_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest
