"""Which packages count as installed with %pip: those not there at start."""

from __future__ import annotations

import os

from jupyterlite_stream.runtime.state import packages


def test_names_at_start_are_read_from_folder_names():
    """The kernel notes them at start from one listing per folder; the
    result is what reading every distribution's metadata gives."""
    assert packages._names_on_path() == set(packages.installed())


def test_only_later_installs_count(monkeypatch):
    monkeypatch.setattr(packages, "_startup", None)
    monkeypatch.setattr(packages.sys, "platform", "emscripten")
    packages.remember_startup_packages()
    assert packages.user_installed() == []
    monkeypatch.setattr(packages, "installed", lambda: {"tqdm": "4", "snowball": "1.0"})
    monkeypatch.setattr(packages, "_names_on_path", lambda: {"tqdm", "snowball"})
    assert packages.user_installed() == [{"name": "snowball", "version": "1.0"}]


def test_a_new_install_is_seen_through_the_cached_listing(tmp_path, monkeypatch):
    monkeypatch.setattr(packages.sys, "path", [str(tmp_path)])
    assert packages._names_on_path() == set()
    listed = tmp_path.stat().st_mtime_ns
    (tmp_path / "snowball-1.0.dist-info").mkdir()
    # the file system's clock ticks (an install and a checkpoint's listing
    # never fall in the same tick: the checkpoint waits for the idle kernel)
    os.utime(tmp_path, ns=(listed + 10**7, listed + 10**7))
    assert packages._names_on_path() == {"snowball"}
