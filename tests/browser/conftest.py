"""The site is built once per run, served with and without COOP/COEP, and
driven in one Chromium; each test module reuses one page (and kernel) per mode."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .driver import CHROMIUM, CHROMIUM_ARGS, LitePage
from .server import SiteServer

REPO = Path(__file__).resolve().parents[2]
MODES = ["isolated", "plain"]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """`jupyterlite-stream build` of content/ in a folder holding only the
    repository's jupyter-lite.json, as a teacher would run it."""
    lite_dir = tmp_path_factory.mktemp("lite")
    shutil.copy(REPO / "jupyter-lite.json", lite_dir)
    out = lite_dir / "_output"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlite_stream.build.cli",
            "build",
            "--contents",
            str(REPO / "content"),
            "--output-dir",
            str(out),
        ],
        cwd=lite_dir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


@pytest.fixture(scope="session")
def servers(site):
    started = {mode: SiteServer(site, isolated=(mode == "isolated")) for mode in MODES}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_lite(browser, servers, mode) -> LitePage:
    context = browser.new_context(accept_downloads=True)
    return LitePage(context, servers[mode].base)


@pytest.fixture(scope="module", params=MODES)
def lite(request, browser, servers):
    """A REPL page with a running kernel, in each mode, shared by a module."""
    page = _new_lite(browser, servers, request.param)
    page.mode = request.param
    page.open_repl()
    yield page
    page.context.close()
    assert page.blocked == [], f"requests left 127.0.0.1: {page.blocked}"


@pytest.fixture
def fresh_lite(browser, servers):
    """A factory of new pages (new browser context) in a given mode."""
    made = []

    def make(mode: str) -> LitePage:
        page = _new_lite(browser, servers, mode)
        page.mode = mode
        made.append(page)
        return page

    yield make
    for page in made:
        page.context.close()
        assert page.blocked == [], f"requests left 127.0.0.1: {page.blocked}"
