"""`jupyterlite-stream init`, then what the course's GitHub workflow does, on
this machine: a fresh virtualenv with this checkout and the course's
requirements, the workflow's build line run as written in deploy.yml, and the
built site opened in the browser, where the starter notebook runs."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jupyterlite_stream.builder.scaffold import STARTER_NOTEBOOK

from .driver import LitePage
from .server import SiteServer

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def run(argv: list[str], cwd: Path, env: dict | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}"


def workflow_steps(course: Path) -> list[dict]:
    flow = yaml.safe_load((course / ".github/workflows/deploy.yml").read_text())
    return flow["jobs"]["build"]["steps"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The site as the course's workflow builds it."""
    root = tmp_path_factory.mktemp("scaffold")
    course = root / "my-course"
    venv = root / "venv"
    run([sys.executable, "-m", "jupyterlite_stream.builder.cli", "init", str(course)], cwd=root)
    run([sys.executable, "-m", "venv", str(venv)], cwd=root)
    pip = str(venv / "bin" / "pip")
    # this package from the checkout; requirements.txt pins the same version,
    # so installing it next finds it there and adds only what else is listed
    run([pip, "install", "-q", str(REPO)], cwd=root)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("JUPYTERLITE_STREAM_PYODIDE_DIST", None)
    env.pop("VIRTUAL_ENV", None)
    steps = workflow_steps(course)
    (install,) = [s for s in steps if s.get("run", "").startswith("pip install")]
    (build,) = [s for s in steps if s.get("run", "").startswith("jupyterlite-stream build")]
    # each line as written, as the workflow's shell runs it in the repository
    for step in (install, build):
        run(["bash", "-e", "-c", step["run"]], cwd=course, env=env)
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    site = course / upload["with"]["path"]
    server = SiteServer(site, isolated=True)
    yield course, site, server
    server.stop()


def test_the_published_folder_is_a_site(published):
    course, site, _ = published
    assert (site / "lab" / "index.html").is_file()
    assert (site / "files" / Path(STARTER_NOTEBOOK).relative_to("content")).is_file()
    # the site was built with the checkout's package, in the fresh virtualenv
    assert (site / "static" / "pyodide" / "pyodide.mjs").is_file()


def test_the_starter_notebook_runs(browser, published):
    """As a student does it: open the link, click the code cell, Shift+Enter.
    (The scaffold's site does not expose `window.jupyterapp`.)"""
    _, _, server = published
    page = LitePage(browser.new_context(), server.base)
    try:
        page.page.goto(f"{server.base}notebooks/index.html?path=start-here.ipynb")
        page.page.locator(".jp-CodeCell .cm-content").first.click(timeout=60_000)
        page.page.keyboard.press("Shift+Enter")
        output = page.page.locator(".jp-OutputArea-output", has_text="add up to")
        output.wait_for(timeout=180_000)
        text = output.inner_text()
        assert "Hello from Python 3." in text and "in your browser!" in text
        assert "The first ten squares add up to 385" in text
        assert page.blocked == []
    finally:
        page.context.close()
