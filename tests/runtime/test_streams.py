"""Coalesced streams: the buffer, and what `install_kernel_output` does to
stand-ins of pyodide_kernel's stream, display publisher, kernel and shell."""

from __future__ import annotations

import asyncio
import builtins
import getpass
import sys
import time
import types

import pytest

from jupyterlite_stream.runtime import streams, tqdm_line


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Page:
    """Everything the worker would post, in order."""

    def __init__(self):
        self.messages: list[tuple] = []

    def stream(self, name, text):
        self.messages.append(("stream", name, text))

    def text(self, name="stdout") -> str:
        return "".join(m[2] for m in self.messages if m[:2] == ("stream", name))


def make_stream_class():
    """pyodide_kernel.display.LiteStream, as shipped (a fresh class per test)."""

    class LiteStream:
        encoding = "utf-8"

        def __init__(self, name):
            self.name = name
            self.publish_stream_callback = None

        def write(self, text):
            if self.publish_stream_callback:
                self.publish_stream_callback(self.name, text)

        def flush(self):
            pass

        def isatty(self):
            return False

    return LiteStream


@pytest.fixture
def page():
    return Page()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def coalescer(clock):
    return streams.Coalescer(clock)


@pytest.fixture
def out_err(page, coalescer):
    """stdout and stderr streams writing through `coalescer` to `page`."""
    cls = make_stream_class()
    streams.coalesce_streams(cls, coalescer)
    out, err = cls("stdout"), cls("stderr")
    out.publish_stream_callback = err.publish_stream_callback = page.stream
    return out, err


def test_a_burst_of_writes_is_one_message(out_err, page, clock):
    out, _ = out_err
    out.write("first\n")  # after a quiet spell: sent at once
    for i in range(1000):
        print(i, file=out)
    assert len(page.messages) == 1
    out.flush()
    assert len(page.messages) == 2
    assert page.text() == "first\n" + "".join(f"{i}\n" for i in range(1000))


def test_a_write_after_the_interval_sends(out_err, page, clock):
    out, _ = out_err
    out.write("a")
    out.write("b")
    clock.now += streams.FLUSH_INTERVAL + 0.001
    out.write("c")
    assert page.messages == [("stream", "stdout", "a"), ("stream", "stdout", "bc")]


def test_interval_is_configurable(out_err, page, clock, monkeypatch):
    monkeypatch.setattr(streams, "FLUSH_INTERVAL", 0)
    out, _ = out_err
    for text in "abc":
        out.write(text)
    assert len(page.messages) == 3


def test_large_output_is_sent_by_size(out_err, page, monkeypatch):
    monkeypatch.setattr(streams, "MAX_PENDING_CHARS", 100)
    out, _ = out_err
    out.write("x")
    for _ in range(30):
        out.write("0123456789")
    assert [len(m[2]) for m in page.messages] == [1, 100, 100, 100]


def test_stdout_and_stderr_keep_their_order(out_err, page):
    out, err = out_err
    out.write("1 out\n")
    err.write("2 err\n")
    err.write("3 err\n")
    out.write("4 out\n")
    out.flush()
    assert page.messages == [
        ("stream", "stdout", "1 out\n"),
        ("stream", "stderr", "2 err\n3 err\n"),
        ("stream", "stdout", "4 out\n"),
    ]


def test_stream_api(out_err, page):
    out, _ = out_err
    assert out.write("héllo") == 5
    out.writelines(["a\n", "b\n"])
    out.flush()
    assert page.text() == "héllo" + "a\nb\n"
    assert out.isatty() is False
    with pytest.raises(TypeError, match="must be str, not bytes"):
        out.write(b"raw")


def test_empty_flush_sends_nothing(out_err, page):
    out, _ = out_err
    out.flush()
    out.write("")
    out.flush()
    assert page.messages == []


def test_text_without_a_callback_is_dropped_as_in_the_stock_kernel(out_err, page):
    out, _ = out_err
    out.publish_stream_callback = None
    out.write("before the first cell\n")
    out.flush()
    out.publish_stream_callback = page.stream
    out.write("x")
    out.flush()
    assert page.text() == "x"


def test_an_interrupt_while_sending_keeps_the_text(out_err, page):
    out, _ = out_err
    out.write("start\n")

    def interrupted(name, text):
        raise KeyboardInterrupt

    out.publish_stream_callback = interrupted
    out.write("kept\n")
    with pytest.raises(KeyboardInterrupt):
        out.flush()
    out.publish_stream_callback = page.stream
    out.flush()
    assert page.text() == "start\nkept\n"


# --- the flush points ----------------------------------------------------------------
def test_displays_come_after_the_text_printed_before_them(out_err, page, coalescer):
    class Publisher:
        def publish(self, data, metadata=None, **kwargs):
            page.messages.append(("display", data["text/plain"]))

        def clear_output(self, wait=False):
            page.messages.append(("clear",))

    streams.flush_before_displays(Publisher, coalescer)
    out, _ = out_err
    out.write("go\n")
    out.write("before\n")
    Publisher().publish({"text/plain": "bar"})
    out.write("after\n")
    Publisher().clear_output()
    assert page.messages == [
        ("stream", "stdout", "go\n"),
        ("stream", "stdout", "before\n"),
        ("display", "bar"),
        ("stream", "stdout", "after\n"),
        ("clear",),
    ]


@pytest.mark.parametrize("outcome", ["ok", "error", "interrupt"])
def test_everything_is_sent_at_the_end_of_a_cell(out_err, page, coalescer, outcome):
    out, _ = out_err

    class Kernel:
        async def run(self, code):
            out.write("x")
            out.write("y\n")
            if outcome == "error":
                raise ValueError
            if outcome == "interrupt":
                raise KeyboardInterrupt
            return {"status": "ok"}

    streams.flush_after_cells(Kernel, coalescer)
    try:
        asyncio.run(Kernel().run("cell"))
    except (ValueError, KeyboardInterrupt):
        assert outcome != "ok"
    assert page.text() == "xy\n"


def test_input_prompt_comes_after_the_text_printed_before_it(out_err, page, coalescer):
    class Shell:
        """pyodide_kernel's Interpreter: its `input` setter installs builtins.input."""

        @property
        def input(self):
            return self._input

        @input.setter
        def input(self, ask):
            self._input = ask
            builtins.input = lambda prompt="": ask(prompt)

        @property
        def getpass(self):
            return self._getpass

        @getpass.setter
        def getpass(self, ask):
            self._getpass = ask
            getpass.getpass = ask

    def ask(prompt):
        page.messages.append(("input_request", prompt))
        return "answer"

    streams.flush_before_input(Shell, coalescer)
    shell = Shell()
    shell.input = ask
    shell.getpass = ask
    out, _ = out_err
    out.write("q1\n")
    out.write("question\n")
    assert input("? ") == "answer"
    out.write("secret question\n")
    assert getpass.getpass("pw: ") == "answer"
    assert shell.input is ask
    assert page.messages[1:] == [
        ("stream", "stdout", "question\n"),
        ("input_request", "? "),
        ("stream", "stdout", "secret question\n"),
        ("input_request", "pw: "),
    ]


def test_flushing_first_keeps_the_function(coalescer):
    wrapped = streams.flushing_first(time.sleep, coalescer)
    assert wrapped.__name__ == "sleep" and wrapped.__wrapped__ is time.sleep
    assert wrapped.__doc__ == time.sleep.__doc__


# --- install_kernel_output -------------------------------------------------------
@pytest.fixture
def restore_globals(monkeypatch):
    monkeypatch.setattr(builtins, "input", builtins.input)
    monkeypatch.setattr(getpass, "getpass", getpass.getpass)
    monkeypatch.setattr(time, "sleep", time.sleep)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(streams, "output", streams.Coalescer())


def test_install_without_pyodide_kernel_changes_nothing(restore_globals, monkeypatch):
    monkeypatch.delitem(sys.modules, "pyodide_kernel", raising=False)
    sleep = time.sleep
    streams.install_kernel_output(types.SimpleNamespace())
    assert time.sleep is sleep


def test_install_in_a_stand_in_pyodide_kernel(restore_globals, monkeypatch, page):
    from IPython.core.events import EventManager, available_events

    stream_class = make_stream_class()
    stdout = stream_class("stdout")
    stdout.publish_stream_callback = page.stream
    monkeypatch.setitem(sys.modules, "pyodide_kernel", types.SimpleNamespace(stdout_stream=stdout))

    class Publisher:
        def publish(self, data, **kwargs):
            page.messages.append(("display", data))

        def clear_output(self, wait=False):
            pass

    class Shell:
        input = property(lambda s: None, lambda s, v: None)
        getpass = property(lambda s: None, lambda s, v: None)

        def __init__(self):
            self.display_pub = Publisher()
            self.events = EventManager(self, available_events)

    class Kernel:
        def __init__(self):
            self.interpreter = Shell()

        async def run(self, code):
            print("in the cell", file=stdout)
            return {"status": "ok"}

    kernel = Kernel()
    streams.install_kernel_output(kernel)
    stdout.write("first\n")
    assert asyncio.run(kernel.run("cell")) == {"status": "ok"}
    assert page.text() == "first\nin the cell\n"
    stdout.write("x")
    stdout.write("before a sleep\n")
    time.sleep(0)
    assert page.text().endswith("before a sleep\n")
    assert any(isinstance(f, tqdm_line.TqdmImportHook) for f in sys.meta_path)
    assert kernel.interpreter.events.callbacks["post_run_cell"] == [tqdm_line.end_of_cell]
