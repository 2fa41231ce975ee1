# ruff: noqa: E501  (the probes are one-line cells, easier to read unwrapped)
"""A kernel restored from the build's snapshot behaves as one started the
long way: the same probes of the interpreter's world, run in both, give the
same answers (issue 14).

The `isolated` page of the session's `site` starts from the snapshot; the
`plain` server's build has `"snapshot": false` and starts the long way. That
page is also not cross-origin isolated: no probe here reads what isolation
changes (`crossOriginIsolated`, SharedArrayBuffer, the banner's interrupt
column), so the only normalisation is the server's origin (another port).
Random draws and process ids are not probed.
"""

from __future__ import annotations

import pytest

from .conftest import _new_lite
from .driver import errors_of, text_of

#: (name, code printing one line); each is run in both kernels
PROBES = [
    ("environ", "import os; print(sorted(os.environ.items()))"),
    ("env_underscore", "import os; print(os.environ.get('_'))"),
    ("lang", "import os; print(os.environ.get('LANG'))"),
    ("home", "import os; print(os.path.expanduser('~'))"),
    ("cwd", "import os; print(os.getcwd())"),
    ("executable", "import sys; print(sys.executable)"),
    ("argv", "import sys; print(sys.argv)"),
    ("orig_argv", "import sys; print(sys.orig_argv)"),
    ("path", "import sys; print(sys.path)"),
    ("prefix", "import sys; print(sys.prefix, sys.exec_prefix, sys.base_prefix)"),
    ("flags", "import sys; print(sys.flags)"),
    ("platform_sys", "import sys; print(sys.platform)"),
    ("recursion", "import sys; print(sys.getrecursionlimit())"),
    ("encodings", "import sys; print(sys.getdefaultencoding(), sys.getfilesystemencoding())"),
    ("std_encodings", "import sys; print(sys.stdout.encoding, sys.stderr.encoding)"),
    ("int_max", "import sys; print(sys.get_int_max_str_digits())"),
    ("switch", "import sys; print(sys.getswitchinterval())"),
    ("displayhook", "import sys; print(type(sys.displayhook).__name__)"),
    ("excepthook", "import sys; print(sys.excepthook.__qualname__)"),
    ("locale", "import locale; print(locale.getlocale())"),
    ("locale_pref", "import locale; print(locale.getpreferredencoding(False))"),
    ("setlocale", "import locale; print(locale.setlocale(locale.LC_ALL))"),
    ("tzname", "import time; print(time.tzname, time.timezone, time.daylight)"),
    ("localtime", "import time; print(time.localtime(0))"),
    ("platform", "import platform; print(platform.platform(), platform.machine())"),
    ("platform_node", "import platform; print(platform.node(), platform.system())"),
    ("uname", "import platform; print(platform.uname())"),
    ("python_version", "import platform; print(platform.python_version())"),
    ("tempdir", "import tempfile; print(tempfile.gettempdir(), tempfile.tempdir)"),
    (
        "tempfile_io",
        "import tempfile\nwith tempfile.NamedTemporaryFile('w+') as f:\n    f.write('x'); f.seek(0); print(f.read(), f.name.rsplit('/', 1)[0])",
    ),
    (
        "home_io",
        "import pathlib\np = pathlib.Path.home() / 'probe.txt'; p.write_text('hi'); print(p.read_text(), p.exists()); p.unlink()",
    ),
    ("tmp_io", "open('/tmp/probe', 'w').write('ok'); print(open('/tmp/probe').read())"),
    ("listdir_home", "import os; print(sorted(os.listdir(os.path.expanduser('~'))))"),
    (
        "js_globals",
        "import js; print([hasattr(js, n) for n in ('XMLHttpRequest', 'fetch', 'self', 'location', 'navigator', 'document')])",
    ),
    ("js_location", "import js; print(js.location.pathname)"),
    (
        "pyodide_http",
        "import pyodide.http as h; print(hasattr(h, 'XMLHttpRequest'), hasattr(h.pyxhr, 'XMLHttpRequest'))",
    ),
    (
        "open_url",
        "from pyodide.http import open_url; print(len(open_url('../../jupyter-lite.json').read()) > 0)",
    ),
    ("pyodide_version", "import pyodide; print(pyodide.__version__)"),
    # JSPI: Pyodide picks run_sync and CPython's call trampoline at start-up
    # and writes them into memory, where the snapshot (made under Node, no
    # JSPI, no wasm-gc) overwrote them (startupchoices.ts)
    (
        "run_sync",
        "import js; from pyodide.ffi import can_run_sync, run_sync; print(can_run_sync(), run_sync(js.Promise.resolve(5)))",
    ),
    (
        "run_sync_from_c",
        "import js; from pyodide.ffi import run_sync; print(sorted([3, 1, 2], key=lambda x: run_sync(js.Promise.resolve(-x))))",
    ),
    (
        "micropip_base",
        "import micropip._compat as c; print(c.lockfile_base_url == __import__('pyodide_js').lockfileBaseUrl)",
    ),
    (
        "distributions",
        "import importlib.metadata as m; print(sorted({d.metadata['Name'].lower() for d in m.distributions()}))",
    ),
    (
        "imports",
        "import importlib.metadata as m, importlib\nbad = []\nfor d in sorted({d.metadata['Name'] for d in m.distributions()}):\n    for top in (m.distribution(d).read_text('top_level.txt') or '').split():\n        try: importlib.import_module(top)\n        except Exception as e: bad.append((top, type(e).__name__))\nprint(bad)",
    ),
    (
        "warnings",
        "import warnings; print([(f[0], getattr(f[1], 'pattern', f[1]), f[2].__name__, f[3]) for f in warnings.filters])",
    ),
    (
        "ipython_config",
        "ip = get_ipython(); print(type(ip).__name__, ip.colors, ip.autocall, ip.ast_node_interactivity, ip.profile)",
    ),
    ("ipython_dirs", "ip = get_ipython(); print(ip.ipython_dir, ip.profile_dir.location)"),
    ("display_formatter", "ip = get_ipython(); print(sorted(ip.display_formatter.active_types))"),
    ("env_magic", "%env LANG"),
    ("who", "%who"),
    ("help", "help(len)"),
    ("modules_random", "import random; print(type(random._inst).__name__)"),
    ("hash_seed_env", "import os; print(os.environ.get('PYTHONHASHSEED'))"),
    ("stdin", "import sys; print(type(sys.stdin).__name__, sys.stdin.isatty())"),
    (
        "fds",
        "import os; print(sorted(os.listdir('/proc/self/fd')) if os.path.exists('/proc/self/fd') else None)",
    ),
]

#: names of probes allowed to differ, and why (none today)
EXCEPTIONS: dict[str, str] = {}


def _run_probes(lite) -> dict[str, str]:
    answers = {}
    for name, code in PROBES:
        state = lite.execute(code)
        answers[name] = text_of(state) + text_of(state, "result") + "".join(errors_of(state))
    return answers


def _normalise(text: str, lite) -> str:
    # the server's port differs between the two pages
    return text.replace(lite.origin, "<origin>")


@pytest.fixture(scope="module")
def both(browser, servers):
    answers = {}
    for mode in ("isolated", "plain"):
        lite = _new_lite(browser, servers, mode)
        lite.open_repl()
        answers[mode] = {k: _normalise(v, lite) for k, v in _run_probes(lite).items()}
        lite.context.close()
        assert lite.blocked == [], f"requests left 127.0.0.1: {lite.blocked}"
    return answers


def test_enough_probes():
    assert len(PROBES) >= 40


@pytest.mark.parametrize("name", [name for name, _ in PROBES if name not in EXCEPTIONS])
def test_same_answer(both, name):
    assert both["isolated"][name] == both["plain"][name]


def test_open_url_reads_same_origin_file(both):
    assert both["isolated"]["open_url"].strip() == "True"
    assert both["plain"]["open_url"].strip() == "True"
