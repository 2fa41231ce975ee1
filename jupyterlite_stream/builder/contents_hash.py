"""A content hash for every file of the site's contents listing.

JupyterLite writes `api/contents/**/all.json` with Jupyter Server's models,
whose `hash` field it leaves empty. The lab extension compares a student's
copy (kept in the browser) with the teacher's file by that hash, and tells
when the teacher published a new version, so the build fills it in: the
SHA-256 of the exact bytes served under `files/`.
"""

from __future__ import annotations

import json
from pathlib import Path

from jupyterlite_core.constants import ALL_JSON, API_CONTENTS, JSON_FMT

from .distribution import sha256

#: Jupyter Server's default `hash_algorithm`; the browser has it in crypto.subtle
HASH_ALGORITHM = "sha256"


class ListingError(Exception):
    """A contents listing could not be read (the message names it)."""


def listings(output_dir: Path) -> list[Path]:
    """The `all.json` of every folder under `files/` (as JupyterLite's
    contents add-on writes them), the root one first."""
    files_dir = Path(output_dir) / "files"
    if not files_dir.is_dir():
        return []
    folders = [files_dir, *sorted(d for d in files_dir.rglob("*") if d.is_dir())]
    api = Path(output_dir) / API_CONTENTS
    return [api / d.relative_to(files_dir) / ALL_JSON for d in folders]


def hash_listing(listing_path: Path, files_dir: Path) -> int:
    """Fill `hash` and `hash_algorithm` of each file in one listing; returns
    how many files got a hash. Folders keep an empty hash."""
    try:
        listing = json.loads(listing_path.read_text(encoding="utf-8"))
        children = listing["content"]
        if not isinstance(children, list):
            raise TypeError("content is not a list")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ListingError(f"cannot read the contents listing {listing_path}: {err}") from err
    hashed = 0
    for child in children:
        if not isinstance(child, dict) or child.get("type") == "directory":
            continue
        source = files_dir / str(child.get("path", ""))
        if not source.is_file():
            continue
        child["hash"] = sha256(source)
        child["hash_algorithm"] = HASH_ALGORITHM
        hashed += 1
    listing_path.write_text(json.dumps(listing, **JSON_FMT), encoding="utf-8")
    return hashed


def add_content_hashes(output_dir: Path) -> int:
    """Hash every file of every listing of the built site; returns the count."""
    files_dir = Path(output_dir) / "files"
    return sum(hash_listing(path, files_dir) for path in listings(output_dir) if path.is_file())
