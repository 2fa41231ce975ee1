"""The highlight also works in JupyterLab with a regular ipykernel on a
jupyter-server, from the traceback text (no structured locations there)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .notebook import run_all

TOKEN = "jupyterlite-stream-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "id": "fail",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "source": "x = 1\ny = x / 0\nz = 2",
            },
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "fallback.ipynb").write_text(json.dumps(notebook))
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--expose-app-in-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.disable_check_xsrf=True",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "w"),
    )
    base = f"http://127.0.0.1:{port}/"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}api/status?token={TOKEN}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    yield base
    server.terminate()
    server.wait(timeout=20)


def test_fallback_highlights_line_2_in_jupyterlab(browser, jupyterlab):
    from .driver import LitePage

    context = browser.new_context()
    page = LitePage(context, jupyterlab)
    page.page.goto(f"{jupyterlab}lab/tree/fallback.ipynb?token={TOKEN}")
    page.page.wait_for_function("() => !!window.jupyterapp", timeout=120_000)
    page.wait_kernel_idle()
    run_all(page)
    lines = page.page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content .cm-line')]
             .map((l, n) => l.classList.contains('jp-stream-error-line') ? n + 1 : 0)
             .filter(n => n)"""
    )
    context.close()
    assert lines == [2]
    assert page.blocked == []
