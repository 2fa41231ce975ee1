"""Which packages count as installed with %pip: those not there at start."""

from __future__ import annotations

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
    assert packages.user_installed() == [{"name": "snowball", "version": "1.0"}]
