"""The site is built once per run and driven in one Chromium; each test
module reuses one page (and kernel) per mode.

Modes (server -> page):
- `isolated`: served with COOP/COEP headers.
- `service-worker`: served without headers; the site's service worker isolates it.
- `plain`: a build with service-worker isolation switched off, served without
  headers: the page is not isolated (as on a host without headers and an
  old browser). That build has no start-up snapshot either, so the kernel's
  long start stays tested.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .driver import CHROMIUM, CHROMIUM_ARGS, LitePage, closing_pages
from .server import SiteServer

REPO = Path(__file__).resolve().parents[2]
#: the modes every module-level `lite` page runs in
MODES = ["isolated", "plain"]


def build_site(lite_dir: Path, config: dict | None = None) -> Path:
    """`jupyterlite-stream build` of content/ in a folder holding only a
    jupyter-lite.json (the repository's, or `config`), as a teacher would."""
    if config is None:
        shutil.copy(REPO / "jupyter-lite.json", lite_dir)
    else:
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(config))
    out = lite_dir / "_output"
    command = [sys.executable, "-m", "jupyterlite_stream.builder.cli", "build"]
    command += ["--contents", str(REPO / "content"), "--output-dir", str(out)]
    subprocess.run(command, cwd=lite_dir, check=True, stdout=subprocess.DEVNULL)
    return out


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    return build_site(tmp_path_factory.mktemp("lite"))


@pytest.fixture(scope="session")
def site_without_isolation(tmp_path_factory) -> Path:
    """The same site with service-worker isolation switched off, and the
    start-up snapshot too: the `plain` tests cover the kernel's long start."""
    config = json.loads((REPO / "jupyter-lite.json").read_text())
    plugins = config["jupyter-config-data"].setdefault("litePluginSettings", {})
    plugins["jupyterlite-stream:isolation"] = {"serviceWorker": False}
    plugins["jupyterlite-stream:kernel"] = {"snapshot": False}
    return build_site(tmp_path_factory.mktemp("lite-no-isolation"), config)


@pytest.fixture(scope="session")
def servers(site, site_without_isolation):
    started = {
        "isolated": SiteServer(site, isolated=True),
        "service-worker": SiteServer(site, isolated=False),
        "plain": SiteServer(site_without_isolation, isolated=False),
    }
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

    def new_page(mode: str) -> LitePage:
        page = _new_lite(browser, servers, mode)
        page.mode = mode
        return page

    with closing_pages(new_page) as make:
        yield make
