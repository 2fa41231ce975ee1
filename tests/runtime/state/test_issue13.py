"""Issue 13 classes, in process: BUILD on a shared class, exponent bombs,
file and folder of one name, reserved names, short keys."""

from __future__ import annotations

import fractions
import pathlib

import pytest

from jupyterlite_stream.runtime.state import StateError, set_signing_key
from jupyterlite_stream.runtime.state.restricted import restricted_loads

# GLOBAL pathlib.PurePath; BUILD (None, {"__str__": str}) on the class itself
BUILD_ON_CLASS = (
    b"\x80\x05\x8c\x07pathlib\x94\x8c\x08PurePath\x94\x93\x94N}\x94\x8c\x07__str__\x94"
    b"\x8c\x08builtins\x94\x8c\x03str\x94\x93\x94s\x86\x94b."
)


def test_build_on_a_shared_class_is_refused_and_changes_nothing():
    before = pathlib.PurePath.__dict__.get("__str__")
    with pytest.raises(StateError):
        restricted_loads(BUILD_ON_CLASS)
    assert pathlib.PurePath.__dict__.get("__str__") is before
    assert str(pathlib.PurePath("/a")) == "/a"


def test_fraction_exponent_bomb_is_refused_quickly():
    payload = (
        b"\x80\x05\x8c\tfractions\x94\x8c\x08Fraction\x94\x93\x94\x8c\t1e4000000\x94\x85\x94R\x94."
    )
    with pytest.raises(StateError, match="exponent"):
        restricted_loads(payload)
    assert fractions.Fraction(1, 3) + 1 == fractions.Fraction(4, 3)


def test_short_signing_key_refused():
    with pytest.raises(StateError, match="too short"):
        set_signing_key(b"")
