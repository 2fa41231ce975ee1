"""Issue 13, class by class: each hostile case runs in a fresh Python
(`hostile_child`), which compares the namespace, the file tree, shared
classes, sys.modules and builtins before and after the import. The rule:
refused with a StateError naming the problem and nothing changed, or
restored exactly as the report says; within loose time and memory bounds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .hostile_cases import CASES

ROOT = Path(__file__).resolve().parents[3]


def run_case(name: str, work: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "tests.runtime.state.hostile_child", name, str(work)],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("VERDICT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("VERDICT ") :])


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case(name, tmp_path):
    case = CASES[name]
    verdict = run_case(name, tmp_path)
    outcome, changed = verdict["outcome"], verdict["changed"]
    assert outcome in ("refused", "restored"), verdict["message"]
    if case.expect != "either":
        assert outcome == case.expect, verdict["message"]
    assert verdict["problems"] == []
    if outcome == "refused":
        message = verdict["message"]
        assert message and len(message) < 400 and "\n" not in message
        assert re.search(case.match, message), message
        assert changed == {}, changed
    else:
        report = verdict["report"] or {}
        allowed = {"namespace": set(report.get("restored", []))}
        written = {str(Path(p).relative_to(tmp_path)) for p in report.get("files", [])}
        folders = {str(Path(p).parent) for p in written for p in [p, *Path(p).parents]}
        allowed["tree"] = written | folders
        for key, names in changed.items():
            assert key in allowed, (key, names)
            assert set(names) <= allowed[key], (key, names)
    assert verdict["seconds"] < case.seconds, verdict["seconds"]
    assert verdict["peak_mib"] < case.peak_mib, verdict["peak_mib"]
