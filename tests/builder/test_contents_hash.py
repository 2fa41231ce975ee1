"""The content hash of each file in the site's contents listing: what the
lab extension compares a student's copy and a teacher's update with."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyterlite_stream.builder.contents_hash import (
    HASH_ALGORITHM,
    ListingError,
    add_content_hashes,
    hash_listing,
)

REPO = Path(__file__).resolve().parents[2]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(path: str, kind: str = "file") -> dict:
    return {"name": path.rsplit("/", 1)[-1], "path": path, "type": kind, "hash": None}


def fake_site(root: Path) -> Path:
    """An output folder as JupyterLite's contents add-on leaves it."""
    files = root / "files"
    (files / "week-1").mkdir(parents=True)
    (files / "a.ipynb").write_bytes(b'{"cells": []}\n')
    (files / "week-1" / "data.csv").write_bytes(b"x,y\n1,2\n")
    api = root / "api" / "contents"
    (api / "week-1").mkdir(parents=True)
    top = {
        "type": "directory",
        "content": [entry("a.ipynb", "notebook"), entry("week-1", "directory")],
    }
    (api / "all.json").write_text(json.dumps(top))
    week = {"type": "directory", "content": [entry("week-1/data.csv")]}
    (api / "week-1" / "all.json").write_text(json.dumps(week))
    return root


def children(listing: Path) -> dict:
    return {c["path"]: c for c in json.loads(listing.read_text())["content"]}


def test_every_file_gets_the_hash_of_its_bytes(tmp_path):
    site = fake_site(tmp_path)
    assert add_content_hashes(site) == 2
    top = children(site / "api/contents/all.json")
    assert top["a.ipynb"]["hash"] == sha256(b'{"cells": []}\n')
    assert top["a.ipynb"]["hash_algorithm"] == HASH_ALGORITHM == "sha256"
    assert top["week-1"]["hash"] is None  # a folder has no content hash
    week = children(site / "api/contents/week-1/all.json")
    assert week["week-1/data.csv"]["hash"] == sha256(b"x,y\n1,2\n")


def test_hashing_again_changes_nothing(tmp_path):
    site = fake_site(tmp_path)
    add_content_hashes(site)
    before = (site / "api/contents/all.json").read_text()
    add_content_hashes(site)
    assert (site / "api/contents/all.json").read_text() == before


def test_an_entry_without_its_file_is_left_alone(tmp_path):
    site = fake_site(tmp_path)
    (site / "files" / "a.ipynb").unlink()
    assert add_content_hashes(site) == 1
    assert children(site / "api/contents/all.json")["a.ipynb"]["hash"] is None


@pytest.mark.parametrize("text", ["not json", '{"content": 3}', "[]"])
def test_a_broken_listing_is_named(tmp_path, text):
    site = fake_site(tmp_path)
    listing = site / "api/contents/all.json"
    listing.write_text(text)
    with pytest.raises(ListingError, match="all.json"):
        hash_listing(listing, site / "files")


def test_no_contents_no_listing(tmp_path):
    assert add_content_hashes(tmp_path) == 0


# -- a real build, and a rebuild into the same folder ------------------------------------------


def build(lite_dir: Path) -> None:
    config = json.loads((REPO / "jupyter-lite.json").read_text())
    plugins = config["jupyter-config-data"].setdefault("litePluginSettings", {})
    plugins["jupyterlite-stream:kernel"] = {"snapshot": False}  # not what this test is about
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "jupyterlite_stream.builder.cli", "build"]
    command += ["--contents", "content", "--output-dir", "_output"]
    subprocess.run(command, cwd=lite_dir, check=True, capture_output=True)


def test_build_and_rebuild_hash_what_is_served(tmp_path):
    content = tmp_path / "content"
    (content / "week-2").mkdir(parents=True)
    shutil.copy(REPO / "content" / "welcome.ipynb", content / "lesson.ipynb")
    (content / "week-2" / "notes.txt").write_text("first version\n")
    build(tmp_path)
    api = tmp_path / "_output" / "api" / "contents"
    lesson = children(api / "all.json")["lesson.ipynb"]
    assert lesson["hash"] == sha256((content / "lesson.ipynb").read_bytes())
    assert lesson["hash_algorithm"] == "sha256"
    notes = children(api / "week-2" / "all.json")["week-2/notes.txt"]
    assert notes["hash"] == sha256(b"first version\n")

    # the teacher changes one file and builds into the same folder
    (content / "week-2" / "notes.txt").write_text("second version\n")
    build(tmp_path)
    assert children(api / "all.json")["lesson.ipynb"]["hash"] == lesson["hash"]
    notes = children(api / "week-2" / "all.json")["week-2/notes.txt"]
    assert notes["hash"] == sha256(b"second version\n")
