"""`jupyterlite-stream build|serve`: what is passed on to `jupyter lite`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from jupyterlite_core.app import LiteServeApp

from jupyterlite_stream.builder import cli
from jupyterlite_stream.builder.headers import ISOLATION_HEADERS


class Calls(list):
    """The recorded commands, and the exit codes to answer them with."""

    def __init__(self):
        super().__init__()
        self.codes: list[int] = []


@pytest.fixture
def calls(monkeypatch):
    """Record the `jupyter lite` commands instead of running them; each
    answers with the next of `calls.codes` (0 once they run out)."""
    recorded = Calls()

    def fake_lite(*args):
        recorded.append(list(args))
        return recorded.codes.pop(0) if recorded.codes else 0

    monkeypatch.setattr(cli, "lite", fake_lite)
    return recorded


HEADER_ARGS = [
    f"--LiteBuildConfig.extra_http_headers={k}={v}" for k, v in ISOLATION_HEADERS.items()
]


def test_build_defaults(calls):
    assert cli.main(["build"]) == 0
    assert calls == [["build", "--output-dir", "_output", "--contents", "content"]]


def test_build_contents_repeatable(calls):
    cli.main(["build", "--contents", "notebooks", "--contents", "data"])
    assert calls == [
        ["build", "--output-dir", "_output", "--contents", "notebooks", "--contents", "data"]
    ]


def test_build_output_dir_and_pyodide_dist(calls):
    cli.main(["build", "--output-dir", "site", "--pyodide-dist", "pyodide-0.29.tar.bz2"])
    assert calls == [
        [
            "build",
            "--output-dir",
            "site",
            "--contents",
            "content",
            "--pyodide-dist",
            "pyodide-0.29.tar.bz2",
        ]
    ]


def test_build_passes_other_options_on(calls):
    cli.main(["build", "--contents", "c", "--LiteBuildConfig.apps=lab", "--no-sourcemaps"])
    assert calls == [
        [
            "build",
            "--output-dir",
            "_output",
            "--contents",
            "c",
            "--LiteBuildConfig.apps=lab",
            "--no-sourcemaps",
        ]
    ]


def test_build_returns_lite_exit_code(calls):
    calls.codes = [3]
    assert cli.main(["build"]) == 3


def test_serve_builds_then_serves_with_isolation_headers(calls, capsys):
    assert cli.main(["serve", "--contents", "nb", "--port", "8123"]) == 0
    assert calls == [
        ["build", "--output-dir", "_output", "--contents", "nb"],
        ["serve", "--output-dir", "_output", "--port", "8123", *HEADER_ARGS],
    ]
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


def test_serve_default_port(calls):
    cli.main(["serve", "--no-build"])
    assert calls == [["serve", "--output-dir", "_output", "--port", "8000", *HEADER_ARGS]]


def test_isolation_headers():
    assert ISOLATION_HEADERS == {
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
    }


def test_serve_header_options_parse_as_jupyter_lite_config(calls):
    """The options given to `jupyter lite serve` set both headers."""
    cli.main(["serve", "--no-build", "--output-dir", "out", "--port", "8124"])
    (serve_args,) = calls
    app = LiteServeApp()
    app.parse_command_line(serve_args[1:])
    assert app.config.LiteBuildConfig.extra_http_headers == ISOLATION_HEADERS
    assert app.config.LiteServeApp.port == 8124


def test_serve_without_isolation_headers(calls):
    cli.main(["serve", "--no-isolation-headers"])
    assert calls[-1] == ["serve", "--output-dir", "_output", "--port", "8000"]
    assert not any("extra_http_headers" in a for call in calls for a in call)


def test_serve_no_build_skips_the_build(calls):
    cli.main(["serve", "--no-build", "--pyodide-dist", "dist"])
    assert [c[0] for c in calls] == ["serve"]


def test_serve_passes_pyodide_dist_to_build(calls):
    cli.main(["serve", "--pyodide-dist", "dist", "--output-dir", "o"])
    assert calls[0] == [
        "build",
        "--output-dir",
        "o",
        "--contents",
        "content",
        "--pyodide-dist",
        "dist",
    ]
    assert calls[1][:3] == ["serve", "--output-dir", "o"]


def test_serve_stops_when_build_fails(calls):
    calls.codes = [2]
    assert cli.main(["serve"]) == 2
    assert [c[0] for c in calls] == ["build"]


def test_command_is_required(calls, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code != 0
    assert calls == []


def test_bad_port(calls):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--port", "http"])
    assert calls == []


def test_module_help_runs():
    run = subprocess.run(
        [sys.executable, "-m", "jupyterlite_stream.builder.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0
    assert "--no-isolation-headers" in run.stdout
    assert "--pyodide-dist" in run.stdout
