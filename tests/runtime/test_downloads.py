"""`runtime.downloads` under CPython, with a stand-in for the worker's
`XMLHttpRequest` (the real one is exercised in the browser)."""

from __future__ import annotations

import sys
import types
import urllib.error
import urllib.request

import pytest

from jupyterlite_stream.runtime import downloads


class Bytes:
    """`js.Uint8Array.new(buffer)` with `to_bytes()`."""

    def __init__(self, data):
        self.data = bytes(data)

    def to_bytes(self):
        return self.data


class FakeXHR:
    """Answers from `FakeXHR.pages` (url -> (status, body)); other urls fail
    the way a refused cross-origin request does."""

    pages: dict = {}
    sent: list = []

    @classmethod
    def new(cls):
        return cls()

    def open(self, method, url, asynchronous):
        assert asynchronous is False
        self.url, self.headers = url, {}

    def setRequestHeader(self, name, value):  # noqa: N802 - the browser's name
        self.headers[name.lower()] = value

    def send(self, body=None):
        FakeXHR.sent.append(self.headers)
        if self.url not in self.pages:
            raise RuntimeError("NetworkError: Failed to execute 'send'")
        self.status, data = self.pages[self.url]
        self.statusText = "Not Found" if self.status == 404 else "OK"
        self.response = data
        self.responseURL = self.url

    def getAllResponseHeaders(self):  # noqa: N802
        return "content-type: text/csv\r\ncontent-length: 3\r\n"


@pytest.fixture
def browser(monkeypatch):
    fake_js = types.SimpleNamespace(
        XMLHttpRequest=FakeXHR, Uint8Array=types.SimpleNamespace(new=Bytes)
    )
    monkeypatch.setitem(sys.modules, "js", fake_js)
    FakeXHR.pages = {
        "http://127.0.0.1:1/data.csv": (200, b"a,b"),
        "http://127.0.0.1:1/missing.csv": (404, b"no"),
    }
    FakeXHR.sent = []
    opener = urllib.request.build_opener(downloads.BrowserHandler())
    monkeypatch.setattr(urllib.request, "_opener", opener)


def test_urlopen_and_urlretrieve(browser, tmp_path):
    with urllib.request.urlopen("http://127.0.0.1:1/data.csv") as response:
        assert response.read() == b"a,b"
        assert response.status == 200
        assert response.headers["content-type"] == "text/csv"
    target = tmp_path / "data.csv"
    urllib.request.urlretrieve("http://127.0.0.1:1/data.csv", target)
    assert target.read_bytes() == b"a,b"
    assert all("user-agent" not in headers for headers in FakeXHR.sent)


def test_404_is_an_http_error_naming_the_url(browser):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen("http://127.0.0.1:1/missing.csv")
    assert caught.value.code == 404
    assert "http://127.0.0.1:1/missing.csv" in str(caught.value)


def test_refused_is_a_url_error_naming_the_url(browser):
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen("https://elsewhere.invalid/x")
    assert "https://elsewhere.invalid/x" in str(caught.value)
    assert "CORS" in str(caught.value)


def test_without_xmlhttprequest(monkeypatch):
    monkeypatch.setitem(sys.modules, "js", types.SimpleNamespace())
    with pytest.raises(urllib.error.URLError, match="http://a/b"):
        downloads.fetch(urllib.request.Request("http://a/b"))
