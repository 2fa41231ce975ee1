"""`--requirements`: pure-Python wheels resolved against Pyodide's lock, from
a wheel cache with no network (pip is run for real, with `--no-index`)."""

from __future__ import annotations

import json
import shutil

import pytest
from packaging.requirements import Requirement

from jupyterlite_stream.builder.distribution import Distribution, assemble
from jupyterlite_stream.builder.requirements import (
    RequirementsError,
    read_requirements,
    resolve,
)

from .fakes import lock_entry, make_dist, make_wheel

#: no request may leave the machine: pip would fail on these proxies
OFFLINE_ENV = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


@pytest.fixture
def offline(monkeypatch):
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")


@pytest.fixture
def cache(tmp_path):
    folder = tmp_path / "wheels"
    make_wheel(folder, "turtlish", "2.0", requires=("six>=1", "colorish"))
    make_wheel(folder, "colorish", "0.3", requires=('winonly ; sys_platform == "win32"',))
    # a compiled wheel only: no pure-Python one to bundle
    compiled = make_wheel(folder, "fastlib", "1.0")
    compiled.rename(folder / "fastlib-1.0-cp314-cp314-manylinux_2_17_x86_64.whl")
    return folder


LOCK = {"info": {"python": "3.14.2"}, "packages": {"six": lock_entry("six", "six-1.17.whl")}}


def test_wheel_cache_resolves_offline_and_skips_what_pyodide_has(tmp_path, cache, offline):
    wheels, depends = resolve([Requirement("turtlish")], LOCK, tmp_path / "dl", cache)
    assert sorted(w.name for w in wheels) == [
        "colorish-0.3-py3-none-any.whl",
        "turtlish-2.0-py3-none-any.whl",
    ]
    # six comes from Pyodide's lock; the Windows-only dependency is not fetched
    assert depends == {"turtlish": ["six", "colorish"], "colorish": []}


def test_compiled_only_package_stops_with_the_message(tmp_path, cache, offline):
    with pytest.raises(RequirementsError) as err:
        resolve([Requirement("fastlib")], LOCK, tmp_path / "dl", cache)
    message = str(err.value)
    assert message.startswith("fastlib: no pure-Python wheel in the wheel cache")
    assert "needs a Pyodide build" in message
    assert "--pyodide-dist" in message


def test_a_missing_package_names_itself(tmp_path, cache, offline):
    with pytest.raises(RequirementsError, match=r"^nosuch>=1: no pure-Python wheel"):
        resolve([Requirement("nosuch>=1")], LOCK, tmp_path / "dl", cache)


def test_a_wheel_in_pyodides_lock_is_not_bundled_twice(tmp_path, cache, offline):
    dist = make_dist(tmp_path / "dist", {"six": lock_entry("six", "six-1.17.whl")})
    make_wheel(tmp_path / "dist", "six", "1.17")
    shutil.move(
        tmp_path / "dist" / "six-1.17-py3-none-any.whl", tmp_path / "dist" / "six-1.17.whl"
    )
    opened = Distribution.open(dist)
    wheels, depends = resolve(
        [Requirement("turtlish"), Requirement("six")], opened.lock, tmp_path / "dl", cache
    )
    out = tmp_path / "out"
    lock = assemble(opened, wheels, out, required=("turtlish",), depends=depends)
    assert sorted(p.name for p in out.glob("*.whl")) == [
        "colorish-0.3-py3-none-any.whl",
        "six-1.17.whl",
        "turtlish-2.0-py3-none-any.whl",
    ]
    assert lock["packages"]["six"]["file_name"] == "six-1.17.whl"
    assert lock["packages"]["turtlish"]["imports"] == ["turtlish"]
    assert lock["packages"]["turtlish"]["depends"] == ["six", "colorish"]
    written = json.loads((out / "pyodide-lock.json").read_text())
    assert written["packages"]["colorish"]["depends"] == []


def test_requirements_file_comments_and_refused_options(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# course packages\nturtlish>=1  # drawing\n\ncolorish\n")
    assert [str(r) for r in read_requirements(path)] == ["turtlish>=1", "colorish"]
    path.write_text("turtlish\n--index-url http://127.0.0.1:9/simple\n")
    with pytest.raises(RequirementsError, match=r"requirements.txt:2: pip options"):
        read_requirements(path)
    path.write_text("turtlish ==\n")
    with pytest.raises(RequirementsError, match=r"requirements.txt:1: not a requirement"):
        read_requirements(path)
    with pytest.raises(RequirementsError, match="requirements file not found"):
        read_requirements(tmp_path / "missing.txt")
