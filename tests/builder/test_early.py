"""`jupyterlite_stream.builder.early`: the early start written into the app
pages (the browser side is tests/browser/test_early_start.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyterlite_stream.builder.early import (
    SCRIPT_ID,
    EarlyStartError,
    add_early_start,
    remove_early_start,
)

STATIC = Path("extensions", "jupyterlite-stream", "static")
PAGE = """<!DOCTYPE html>
<html><head>
    <script id="jupyter-config-data" type="application/json" data-jupyter-lite-root="..">
      {}
    </script>
    <script>/* config-utils */</script>
</head><body></body></html>
"""


@pytest.fixture
def output(tmp_path) -> Path:
    root = tmp_path / "_output"
    for app in ("lab", "repl", "tree"):
        (root / app).mkdir(parents=True)
        (root / app / "index.html").write_text(PAGE)
    static = root / STATIC
    static.mkdir(parents=True)
    (static / "stream.worker.0123abcd.js").write_text("/* the worker */")
    (static / "869.aeb1.js").write_text('new URL("stream.worker.0123abcd.js", import.meta.url)')
    return root


def test_written_once_into_the_kernel_pages_even_when_built_again(output):
    assert add_early_start(output) == ["lab", "repl"]
    assert add_early_start(output) == ["lab", "repl"]
    for app in ("lab", "repl"):
        html = (output / app / "index.html").read_text()
        assert html.count(SCRIPT_ID) == 1
        assert f'data-worker="../{STATIC.as_posix()}/stream.worker.0123abcd.js"' in html
        # JupyterLite's own scripts are untouched, ours comes after the config
        assert html.index("jupyter-config-data") < html.index(SCRIPT_ID)
        assert "/* config-utils */" in html
    assert (output / "tree" / "index.html").read_text() == PAGE


def test_removed_when_switched_off(output):
    add_early_start(output)
    remove_early_start(output)
    for app in ("lab", "repl"):
        assert (output / app / "index.html").read_text() == PAGE


def test_a_stale_worker_file_is_not_chosen(output):
    (output / STATIC / "stream.worker.ffff0000.js").write_text("/* an older build's */")
    add_early_start(output)
    assert "stream.worker.0123abcd.js" in (output / "repl" / "index.html").read_text()


def test_no_worker_named_fails_clearly(output):
    (output / STATIC / "869.aeb1.js").write_text("/* no worker here */")
    with pytest.raises(EarlyStartError, match="expected one kernel worker"):
        add_early_start(output)


def test_a_page_without_the_config_script_fails_clearly(output):
    (output / "lab" / "index.html").write_text("<html><head></head></html>")
    with pytest.raises(EarlyStartError, match="lab/index.html has no jupyter-config-data"):
        add_early_start(output)
