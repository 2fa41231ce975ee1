"""The HTTP headers that make a page cross-origin isolated, so that
SharedArrayBuffer (and with it real interrupts) is available, and the
ready-made configurations that send them on common web hosts."""

from __future__ import annotations

import json
from pathlib import Path

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


def netlify_headers() -> str:
    """`_headers` for Netlify and Cloudflare Pages."""
    lines = ["/*"] + [f"  {name}: {value}" for name, value in ISOLATION_HEADERS.items()]
    return "\n".join(lines) + "\n"


def vercel_json() -> str:
    rules = [{"key": name, "value": value} for name, value in ISOLATION_HEADERS.items()]
    return json.dumps({"headers": [{"source": "/(.*)", "headers": rules}]}, indent=2) + "\n"


def nginx_conf() -> str:
    """A snippet to include in the `server` or `location` block of the site."""
    lines = ["# include in the server { } block that serves this site"]
    lines += [f'add_header {name} "{value}" always;' for name, value in ISOLATION_HEADERS.items()]
    return "\n".join(lines) + "\n"


def apache_htaccess() -> str:
    lines = ["<IfModule mod_headers.c>"]
    lines += [f'  Header always set {name} "{value}"' for name, value in ISOLATION_HEADERS.items()]
    lines += ["</IfModule>"]
    return "\n".join(lines) + "\n"


#: file name in the built site -> its content
HEADER_CONFIGS = {
    "_headers": netlify_headers,
    "vercel.json": vercel_json,
    "nginx-isolation.conf": nginx_conf,
    ".htaccess": apache_htaccess,
}


def write_header_configs(output_dir: Path) -> list[Path]:
    written = []
    for name, render in HEADER_CONFIGS.items():
        path = output_dir / name
        path.write_text(render(), encoding="utf-8")
        written.append(path)
    return written
