"""The restricted unpickler: plain data loads, code never runs."""

from __future__ import annotations

import builtins
import os
import pickle
import subprocess

import pytest

from jupyterlite_stream.runtime.state import StateError
from jupyterlite_stream.runtime.state.restricted import restricted_loads


def reducing(func, *args):
    class Payload:
        def __reduce__(self):
            return func, args

    return pickle.dumps(Payload(), protocol=5)


@pytest.mark.parametrize(
    "func, make_args",
    [
        (os.system, lambda m: (f"touch {m}",)),
        (builtins.eval, lambda m: (f"open({str(m)!r}, 'w').close()",)),
        (builtins.exec, lambda m: (f"open({str(m)!r}, 'w').close()",)),
        (subprocess.call, lambda m: (["touch", str(m)],)),
        (builtins.open, lambda m: (str(m), "w")),
    ],
    ids=["os.system", "eval", "exec", "subprocess.call", "open"],
)
def test_code_payloads_refused(tmp_path, func, make_args):
    marker = tmp_path / "marker"
    with pytest.raises(StateError, match="not plain data"):
        restricted_loads(reducing(func, *make_args(marker)))
    assert not marker.exists()


def test_getattr_and_import_refused():
    with pytest.raises(StateError, match="builtins.getattr"):
        restricted_loads(reducing(getattr, "text", "upper"))
    with pytest.raises(StateError, match="builtins.__import__"):
        restricted_loads(reducing(__import__, "os"))


def test_protocol_0_global_refused(tmp_path):
    marker = tmp_path / "marker"
    payload = f"cposix\nsystem\n(Vtouch {marker}\ntR.".encode()
    with pytest.raises(StateError, match="posix.system|not protocol 5"):
        restricted_loads(payload)
    assert not marker.exists()


def test_range_bomb_refused():
    with pytest.raises(StateError, match="memory bomb"):
        restricted_loads(reducing(range, 10**15))


def test_persistent_ids_refused():
    with pytest.raises(StateError):
        restricted_loads(b"\x80\x05\x8c\x01x\x94Q.")


def test_allowed_values_load():
    import collections
    import datetime
    import decimal

    value = {
        "d": collections.defaultdict(int, a=1),
        "t": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
        "n": decimal.Decimal("1.5"),
        "r": range(3),
        "b": bytearray(b"x"),
        "c": 1j,
    }
    assert restricted_loads(pickle.dumps(value, protocol=5)) == value
