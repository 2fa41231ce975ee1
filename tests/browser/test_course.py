"""Issue 15 in the browser: course notebooks' `!pip install`, `!ls`,
downloads with urllib, and `shelve`."""

from __future__ import annotations

import hashlib

from .driver import errors_of, text_of


def _stderr(state: dict) -> str:
    return "".join(
        m["content"]["text"]
        for m in state["iopub"]
        if m["type"] == "stream" and m["content"]["name"] == "stderr"
    )


def test_bang_pip_install_of_a_bundled_wheel(lite):
    state = lite.execute("!pip install tqdm\nimport tqdm\nprint(tqdm.__name__)")
    assert errors_of(state) == []
    assert "tqdm\n" in text_of(state)


def test_bang_ls_is_one_line_and_no_error(lite):
    state = lite.execute("!ls -l")
    assert errors_of(state) == []
    lines = _stderr(state).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("!ls: shell commands are not available in the browser")


def test_urlretrieve_and_urlopen_of_a_same_origin_file(lite, site, site_without_isolation):
    root = site if lite.mode == "isolated" else site_without_isolation
    expected = hashlib.sha256((root / "jupyter-lite.json").read_bytes()).hexdigest()
    code = (
        "import hashlib, js, urllib.request\n"
        "url = js.location.origin + '/jupyter-lite.json'\n"
        "path, _ = urllib.request.urlretrieve(url, 'lite.json')\n"
        "print(hashlib.sha256(open(path, 'rb').read()).hexdigest())\n"
        "with urllib.request.urlopen(url) as r:\n"
        "    print(r.status, hashlib.sha256(r.read()).hexdigest())\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == []
    assert text_of(state).split() == [expected, "200", expected]


def test_404_is_an_http_error_naming_the_url(lite):
    code = (
        "import js, urllib.request, urllib.error\n"
        "url = js.location.origin + '/no-such-file.csv'\n"
        "try:\n"
        "    urllib.request.urlopen(url)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code, url in str(e))\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == []
    assert text_of(state) == "404 True\n"


def test_refused_cross_origin_is_a_url_error_naming_the_url(lite, servers):
    other = servers["service-worker" if lite.mode == "isolated" else "isolated"].base
    url = other.rstrip("/") + "/jupyter-lite.json"
    code = (
        "import urllib.request, urllib.error\n"
        f"url = {url!r}\n"
        "try:\n"
        "    urllib.request.urlopen(url)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print('http error', e)\n"
        "except urllib.error.URLError as e:\n"
        "    print('url error', url in str(e))\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == []
    assert text_of(state) == "url error True\n"


def test_shelve_round_trip(lite):
    code = (
        "import shelve\n"
        "with shelve.open('scores') as db:\n"
        "    db['ada'] = {'points': [1, 2, 3]}\n"
        "with shelve.open('scores', 'r') as db:\n"
        "    print(db['ada'], list(db))\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == []
    assert text_of(state) == "{'points': [1, 2, 3]} ['ada']\n"


def test_dbm_open_write_reopen(lite):
    # a course's own use of dbm: write, close, open again to read and add
    code = (
        "import dbm\n"
        "with dbm.open('grades', 'c') as db:\n"
        "    db['ada'] = '17'\n"
        "with dbm.open('grades', 'w') as db:\n"
        "    db[b'bob'] = b'12'\n"
        "with dbm.open('grades') as db:\n"
        "    print(sorted(db.keys()), db['ada'], dbm.whichdb('grades'))\n"
    )
    state = lite.execute(code)
    assert errors_of(state) == []
    assert text_of(state) == "[b'ada', b'bob'] b'17' dbm.sqlite3\n"
