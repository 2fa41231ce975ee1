"""`jupyterlite_stream.runtime.install`: what the worker's call does to a
fresh kernel, with stand-ins for pyodide_kernel's kernel and interpreter."""

from __future__ import annotations

import asyncio
import builtins
import getpass
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

import jupyterlite_stream.runtime as runtime


def make_kernel():
    """A kernel and interpreter whose classes are fresh per test; the
    interpreter has the stock `input`/`getpass` properties of pyodide_kernel's
    `Interpreter` (which hand the raw answer through)."""

    class Interpreter:
        def __init__(self):
            self._input = None
            self._getpass = None
            self._last_traceback = None
            self.magics = {}

        def register_magic_function(self, func, kind, name):
            self.magics[name] = (kind, func)

        @property
        def input(self):
            return self._input

        @input.setter
        def input(self, value):
            self._input = value
            builtins.input = lambda *args, **kwargs: value(*args, **kwargs)

        @property
        def getpass(self):
            return self._getpass

        @getpass.setter
        def getpass(self, value):
            self._getpass = value
            getpass.getpass = self._getpass

        def _showtraceback(self, etype, evalue, stb):
            self._last_traceback = {"ename": str(etype), "evalue": str(evalue), "traceback": stb}

    class Kernel:
        def __init__(self):
            self.interpreter = Interpreter()

        async def run(self, code):
            try:
                await asyncio.sleep(100)
            except KeyboardInterrupt:
                return {"status": "interrupted", "code": code}
            return {"status": "ok"}

    return Kernel()


class Bridge:
    """The worker's JavaScript bridge."""

    def __init__(self, can_interrupt, answer=False, output_limit="{}"):
        self.canInterrupt = can_interrupt
        self.answer = answer
        self.asked: list[float] = []
        self.armed: list[bool] = []
        self.outputLimit = output_limit

    def arm(self, on):
        self.armed.append(on)

    def sleep(self, ms):
        self.asked.append(ms)
        return self.answer

    def phases(self):
        return '[["pyodide restored from snapshot", 812], ["kernel ready", 1290]]'


class Ask:
    def __init__(self, answer):
        self.answer = answer
        self.prompts: list[str] = []

    def __call__(self, prompt):
        self.prompts.append(prompt)
        return self.answer


@pytest.fixture(autouse=True)
def restore_globals(monkeypatch):
    """`install` replaces process-wide functions: put them back afterwards."""
    monkeypatch.setattr(builtins, "input", builtins.input)
    monkeypatch.setattr(getpass, "getpass", getpass.getpass)
    monkeypatch.setattr(time, "sleep", time.sleep)
    monkeypatch.setattr(runtime, "_bridge", runtime._bridge)
    # the gate shadows exec/eval in IPython's shell module (see UserCodeGate)
    from IPython.core import interactiveshell

    monkeypatch.setattr(interactiveshell, "exec", exec, raising=False)
    monkeypatch.setattr(interactiveshell, "eval", eval, raising=False)
    yield
    runtime.cell_tasks.current = None
    runtime.cell_tasks.user_code_awaits = None


REAL_SLEEP = time.sleep


def test_input_raises_keyboard_interrupt_when_not_answered():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=True))
    ask = Ask((False, ""))
    kernel.interpreter.input = ask
    with pytest.raises(KeyboardInterrupt):
        input("your name? ")
    assert ask.prompts == ["your name? "]


def test_input_returns_the_answer():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=False))
    ask = Ask((True, "x"))
    kernel.interpreter.input = ask
    assert input("p> ") == "x"
    assert builtins.input() == "x"
    assert ask.prompts == ["p> ", ""]


def test_input_property_returns_what_was_set():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=False))
    ask = Ask((True, "x"))
    kernel.interpreter.input = ask
    assert kernel.interpreter.input is ask
    assert kernel.interpreter._input is ask


def test_getpass_raises_keyboard_interrupt_when_not_answered():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=True))
    ask = Ask((False, ""))
    kernel.interpreter.getpass = ask
    with pytest.raises(KeyboardInterrupt):
        getpass.getpass("secret: ")
    assert ask.prompts == ["secret: "]


def test_getpass_returns_the_answer():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=True))
    ask = Ask((True, "hunter2"))
    kernel.interpreter.getpass = ask
    assert getpass.getpass("secret: ") == "hunter2"
    assert kernel.interpreter.getpass is ask


def test_getpass_keeps_the_standard_signature():
    """`getpass.getpass(prompt='Password: ', stream=None)`: code that passes a
    stream must keep working in the kernel."""
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=True))
    kernel.interpreter.getpass = Ask((True, "pw"))
    assert getpass.getpass("secret: ", stream=None) == "pw"
    assert getpass.getpass(prompt="secret: ", stream=None) == "pw"


def test_input_and_getpass_are_independent():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=True))
    kernel.interpreter.input = Ask((True, "typed"))
    kernel.interpreter.getpass = Ask((False, ""))
    assert input() == "typed"
    with pytest.raises(KeyboardInterrupt):
        getpass.getpass()


def test_sleep_replaced_when_page_can_interrupt():
    bridge = Bridge(can_interrupt=True, answer=True)
    runtime.install(make_kernel(), bridge)
    assert time.sleep is not REAL_SLEEP
    with pytest.raises(KeyboardInterrupt):
        time.sleep(3)
    assert bridge.asked == [pytest.approx(3000, abs=30)]


def test_replaced_sleep_sleeps_through_the_bridge():
    class SleepingBridge(Bridge):
        def sleep(self, ms):
            super().sleep(ms)
            REAL_SLEEP(ms / 1000)
            return False

    bridge = SleepingBridge(can_interrupt=True)
    runtime.install(make_kernel(), bridge)
    start = time.monotonic()
    time.sleep(0.05)
    assert time.monotonic() - start >= 0.05
    assert bridge.asked and bridge.asked[0] == pytest.approx(50, abs=2)


def test_sleep_kept_when_page_cannot_interrupt():
    bridge = Bridge(can_interrupt=False, answer=True)
    runtime.install(make_kernel(), bridge)
    assert time.sleep is REAL_SLEEP
    time.sleep(0.001)
    assert bridge.asked == []


def test_install_patches_error_names():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=False))
    kernel.interpreter._showtraceback(ZeroDivisionError, ZeroDivisionError("x"), ["tb"])
    assert kernel.interpreter._last_traceback["ename"] == "ZeroDivisionError"


def test_install_registers_the_state_magics():
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=False))
    assert set(kernel.interpreter.magics) == {"export_state", "import_state"}
    assert {kind for kind, _ in kernel.interpreter.magics.values()} == {"line"}


def test_install_tracks_cells_for_interrupt_await():
    kernel = make_kernel()
    # without the shared signal every await of the cell's task is stopped
    runtime.install(kernel, Bridge(can_interrupt=False))
    assert runtime.interrupt_await() is False

    async def main():
        run = asyncio.create_task(kernel.run("await sleep"))
        await asyncio.sleep(0.01)
        assert runtime.cell_tasks.current is run
        assert runtime.interrupt_await() is True
        return await asyncio.wait_for(run, 5)

    assert asyncio.run(main()) == {"status": "interrupted", "code": "await sleep"}
    assert runtime.cell_tasks.current is None
    assert runtime.interrupt_await() is False


def test_install_stdin_on_its_own():
    class Shell:
        pass

    runtime._install_stdin(Shell)
    shell = Shell()
    shell.input = Ask((True, "a"))
    shell.getpass = Ask((True, "b"))
    assert (input(), getpass.getpass()) == ("a", "b")


def test_public_names():
    namespace = {}
    exec("from jupyterlite_stream.runtime import *", namespace)
    assert callable(namespace["install"])
    assert callable(namespace["interrupt_await"])
    assert namespace["exception_name"](KeyError) == "KeyError"


def test_runtime_does_not_import_build_code():
    code = (
        "import sys, jupyterlite_stream.runtime; "
        "print(sorted(m for m in sys.modules if m.startswith('jupyterlite_stream.builder') "
        "or m.split('.')[0] in ('jupyterlite_core', 'traitlets', 'doit')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bridge_may_be_a_namespace():
    """The bridge is a JsProxy in the kernel: attribute access only."""
    waits = []
    bridge = SimpleNamespace(
        canInterrupt=True,
        sleep=lambda ms: waits.append(ms) or True,
        arm=lambda on: None,
        outputLimit="{}",
    )
    runtime.install(make_kernel(), bridge)
    with pytest.raises(KeyboardInterrupt):
        time.sleep(1)
    assert len(waits) == 1


def test_start_phases_as_the_worker_logged_them():
    assert runtime.start_phases() == []  # not started by a worker
    runtime.install(make_kernel(), Bridge(can_interrupt=True))
    assert runtime.start_phases() == [
        ("pyodide restored from snapshot", 812),
        ("kernel ready", 1290),
    ]


def test_with_the_signal_only_the_cells_own_await_takes_the_interrupt():
    """The kernel's awaits around the cell leave the Stop in the signal for
    the cell's code (GatedCoroutine counts the cell's own suspended awaits)."""
    kernel = make_kernel()
    runtime.install(kernel, Bridge(can_interrupt=True))
    from jupyterlite_stream.runtime.interrupt import GatedCoroutine

    async def main():
        run = asyncio.create_task(kernel.run("await sleep"))
        await asyncio.sleep(0.01)
        assert runtime.interrupt_await() is False  # the stand-in's own await
        GatedCoroutine.awaiting += 1  # as if the cell's code were waiting
        try:
            assert runtime.interrupt_await() is True
        finally:
            GatedCoroutine.awaiting -= 1
        return await asyncio.wait_for(run, 5)

    assert asyncio.run(main())["status"] == "interrupted"
