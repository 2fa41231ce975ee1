"""The header configurations written for web hosts each send both isolation headers."""

from __future__ import annotations

import json
import re

import pytest

from jupyterlite_stream.builder.headers import ISOLATION_HEADERS, write_header_configs

EXPECTED = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


def parse_netlify(text: str) -> dict:
    lines = text.splitlines()
    assert lines[0] == "/*"
    return dict(line.strip().split(": ", 1) for line in lines[1:] if line.strip())


def parse_vercel(text: str) -> dict:
    (rule,) = json.loads(text)["headers"]
    assert rule["source"] == "/(.*)"
    return {h["key"]: h["value"] for h in rule["headers"]}


def parse_nginx(text: str) -> dict:
    return dict(re.findall(r'^add_header (\S+) "([^"]+)" always;$', text, re.M))


def parse_apache(text: str) -> dict:
    assert "<IfModule mod_headers.c>" in text
    return dict(re.findall(r'^\s*Header always set (\S+) "([^"]+)"$', text, re.M))


PARSERS = {
    "_headers": parse_netlify,
    "vercel.json": parse_vercel,
    "nginx-isolation.conf": parse_nginx,
    ".htaccess": parse_apache,
}


def test_the_isolation_headers_are_the_right_ones():
    assert ISOLATION_HEADERS == EXPECTED


@pytest.mark.parametrize("name", PARSERS)
def test_each_config_sends_both_headers(tmp_path, name):
    written = {p.name for p in write_header_configs(tmp_path)}
    assert written == set(PARSERS)
    assert PARSERS[name]((tmp_path / name).read_text()) == EXPECTED
