"""`jupyterlite_stream.builder.vendor`: which packages of Pyodide's lock are
vendored (no network: only `closure` and `canon`)."""

from __future__ import annotations

import pytest

from jupyterlite_stream.builder import distribution, vendor
from jupyterlite_stream.builder.vendor import canon, closure

#: a lock's "packages", keyed like vendor.main keys it (canonical names)
LOCK = {
    "ipython": {"depends": ["decorator", "prompt_toolkit", "traitlets"]},
    "decorator": {"depends": []},
    "prompt-toolkit": {"depends": ["wcwidth"]},
    "wcwidth": {"depends": []},
    "traitlets": {"depends": []},
    "jedi": {"depends": ["parso"]},
    "parso": {"depends": []},
    "numpy": {"depends": []},
    "cycle-a": {"depends": ["cycle_b"]},
    "cycle-b": {"depends": ["Cycle.A"]},
}


def test_closure_of_one_root():
    assert closure(LOCK, ["jedi"]) == ["jedi", "parso"]


def test_closure_is_transitive_and_sorted():
    assert closure(LOCK, ["ipython"]) == [
        "decorator",
        "ipython",
        "prompt-toolkit",
        "traitlets",
        "wcwidth",
    ]


def test_closure_of_several_roots_has_no_duplicates():
    names = closure(LOCK, ["ipython", "jedi", "traitlets"])
    assert names == sorted(set(names))
    assert set(names) == {"decorator", "ipython", "prompt-toolkit", "traitlets", "wcwidth"} | {
        "jedi",
        "parso",
    }
    assert "numpy" not in names


def test_closure_canonicalizes_roots_and_depends():
    assert closure(LOCK, ["Prompt_Toolkit"]) == ["prompt-toolkit", "wcwidth"]


def test_closure_survives_cycles():
    assert closure(LOCK, ["cycle-a"]) == ["cycle-a", "cycle-b"]


def test_closure_of_nothing():
    assert closure(LOCK, []) == []


def test_closure_unknown_name():
    with pytest.raises(KeyError):
        closure(LOCK, ["not-in-lock"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prompt_toolkit", "prompt-toolkit"),
        ("Pygments", "pygments"),
        ("zope.interface", "zope-interface"),
        ("matplotlib-inline", "matplotlib-inline"),
        ("Stack_Data", "stack-data"),
    ],
)
def test_canon(name, expected):
    assert canon(name) == expected
    # the same names as the build's lock keys
    assert distribution.canon(name) == expected


def test_core_files_agree_with_distribution():
    assert tuple(vendor.CORE_FILES) == distribution.CORE_FILES
    assert vendor.UPSTREAM_LOCK == distribution.UPSTREAM_LOCK
    assert vendor.VERSION_FILE == distribution.VERSION_FILE


def test_pyproject_build_targets_are_files_vendor_writes(repo):
    """hatch-jupyter-builder checks `ensured-targets` after `build:prod` (which
    runs vendor.py) and skips the npm build when `skip-if-exists` exist: the
    files named under jupyterlite_stream/pyodide/ must be ones vendor.py writes."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    builder = pyproject["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    written = {*vendor.CORE_FILES, vendor.UPSTREAM_LOCK, vendor.VERSION_FILE}
    prefix = "jupyterlite_stream/pyodide/"
    named = [
        t[len(prefix) :]
        for t in [*builder["ensured-targets"], *builder["skip-if-exists"]]
        if t.startswith(prefix)
    ]
    assert named
    assert [n for n in named if n not in written] == []
