"""A site built with `--requirements`: the listed pure-Python packages import
offline (the page's guard aborts every request that leaves 127.0.0.1), with
no `%pip`; `requests` and its dependencies are bundled from the index (the
minimal distribution leaves them on the CDN).

The site is built once for this module, from a wheel cache: a tiny local
package made here, plus real packages from the package index fetched with
pip into the cache first (CI has the index through pip)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..builder.fakes import make_wheel
from .conftest import REPO
from .driver import LitePage, errors_of, text_of
from .server import SiteServer

#: real packages of the index: humanize is not in Pyodide's lock; requests and
#: its dependencies are pure wheels that the minimal distribution leaves on the CDN
INDEX_PACKAGES = ["humanize", "requests"]
PURE = ["--only-binary=:all:", "--platform=any", "--implementation=py", "--abi=none"]


def _fill_cache(cache: Path) -> None:
    make_wheel(
        cache,
        "coursetools",
        "1.0",
        requires=("six",),
        modules=("coursetools/__init__.py",),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "-d", str(cache), *PURE]
        + ["--python-version=3.14", *INDEX_PACKAGES],
        check=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def req_site(tmp_path_factory) -> Path:
    lite_dir = tmp_path_factory.mktemp("lite-requirements")
    _fill_cache(lite_dir / "wheels")
    shutil.copy(REPO / "jupyter-lite.json", lite_dir)
    (lite_dir / "requirements.txt").write_text("coursetools\n" + "\n".join(INDEX_PACKAGES))
    content = lite_dir / "content"
    content.mkdir()
    (content / "data.csv").write_text("x,y\n1,2\n")
    out = lite_dir / "_output"
    command = [sys.executable, "-m", "jupyterlite_stream.builder.cli", "build"]
    command += ["--contents", str(content), "--output-dir", str(out)]
    command += ["--requirements", "requirements.txt", "--wheel-cache", "wheels"]
    subprocess.run(command, cwd=lite_dir, check=True, stdout=subprocess.DEVNULL, timeout=600)
    return out


@pytest.fixture(scope="module")
def req_lite(browser, req_site):
    server = SiteServer(req_site, isolated=True)
    page = LitePage(browser.new_context(), server.base)
    page.open_repl()
    yield page
    page.context.close()
    server.stop()
    assert page.blocked == [], f"requests left 127.0.0.1: {page.blocked}"


def test_the_lock_lists_each_package_once_with_a_local_file(req_site):
    lock = json.loads((req_site / "static" / "pyodide" / "pyodide-lock.json").read_text())
    for name in ["coursetools", "humanize", "requests", "urllib3", "idna", "six"]:
        entry = lock["packages"][name]
        assert "://" not in entry["file_name"], name
        assert (req_site / "static" / "pyodide" / entry["file_name"]).is_file()
    wheels = [p.name for p in (req_site / "static" / "pyodide").glob("six-*.whl")]
    assert len(wheels) == 1


def test_listed_packages_import_offline_without_pip(req_lite):
    state = req_lite.execute(
        "import coursetools, humanize, six\n"
        "print(coursetools.NAME, humanize.intcomma(1234567), six.__name__)"
    )
    assert errors_of(state) == []
    assert text_of(state) == "coursetools 1,234,567 six\n"
    assert req_lite.blocked == []


def test_requests_fetches_a_same_origin_file(req_lite):
    """urllib3's browser backend suspends on `fetch` through JSPI: in a kernel
    restored from the snapshot that needs startupchoices.ts."""
    state = req_lite.execute(
        "import js, requests\n"
        "r = requests.get(js.location.origin + '/jupyter-lite.json')\n"
        "print(r.status_code, 'jupyter-config-data' in r.json())"
    )
    assert errors_of(state) == []
    assert text_of(state) == "200 True\n"


def test_requests_404_is_an_http_error_naming_the_url(req_lite):
    state = req_lite.execute(
        "import js, requests\n"
        "missing = js.location.origin + '/no-such-file.csv'\n"
        "try:\n"
        "    requests.get(missing).raise_for_status()\n"
        "except requests.HTTPError as e:\n"
        "    print('http error', e.response.status_code, missing in str(e))\n"
    )
    assert errors_of(state) == []
    assert text_of(state) == "http error 404 True\n"
