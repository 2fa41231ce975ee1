"""`jupyterlite_stream.runtime.interrupt` under CPython: the interruptible
sleep, the stdin reader and the interrupt of an awaited coroutine."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from jupyterlite_stream.runtime.interrupt import (
    CellTasks,
    innermost_waiter,
    interruptible_sleep,
    stdin_reader,
)

# -- interruptible_sleep ---------------------------------------------------------------------


class FakeWait:
    """A `wait(ms) -> bool` that records what it is asked, sleeps `fraction` of
    it (a spurious wake-up before the deadline) and answers from `answers`
    (False once those run out)."""

    def __init__(self, fraction=1.0, answers=()):
        self.fraction = fraction
        self.answers = list(answers)
        self.asked: list[float] = []

    def __call__(self, ms):
        self.asked.append(ms)
        time.sleep(ms * self.fraction / 1000.0)
        return self.answers.pop(0) if self.answers else False


def test_sleep_raises_keyboard_interrupt_when_woken_by_interrupt():
    wait = FakeWait(fraction=0.0, answers=[True])
    with pytest.raises(KeyboardInterrupt):
        interruptible_sleep(wait)(5)
    assert len(wait.asked) == 1
    assert wait.asked[0] == pytest.approx(5000, abs=50)


def test_sleep_interrupt_after_spurious_wakeups():
    wait = FakeWait(fraction=0.1, answers=[False, False, True])
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        interruptible_sleep(wait)(1)
    assert len(wait.asked) == 3
    assert wait.asked[1] < wait.asked[0]
    assert time.monotonic() - start < 0.9


def test_sleep_lasts_full_time_despite_spurious_wakeups():
    wait = FakeWait(fraction=0.25)
    start = time.monotonic()
    interruptible_sleep(wait)(0.2)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.2
    assert elapsed < 1.0
    # woken early several times, and each time asked to wait for what is left
    assert len(wait.asked) > 2
    assert wait.asked[0] == pytest.approx(200, abs=5)
    assert all(b < a for a, b in zip(wait.asked, wait.asked[1:], strict=False))
    assert all(ms > 0 for ms in wait.asked)


def test_sleep_asks_milliseconds_for_a_full_wait():
    wait = FakeWait(fraction=1.0)
    start = time.monotonic()
    interruptible_sleep(wait)(0.05)
    assert time.monotonic() - start >= 0.05
    assert wait.asked[0] == pytest.approx(50, abs=2)


def test_sleep_accepts_int():
    wait = FakeWait(fraction=0.0, answers=[True])
    with pytest.raises(KeyboardInterrupt):
        interruptible_sleep(wait)(1)
    assert wait.asked[0] == pytest.approx(1000, abs=10)


@pytest.mark.parametrize("seconds", [0, 0.0, -0.0])
def test_zero_sleep_returns_at_once(seconds):
    wait = FakeWait()
    start = time.monotonic()
    assert interruptible_sleep(wait)(seconds) is None
    assert time.monotonic() - start < 0.05
    assert wait.asked == []


@pytest.mark.parametrize("seconds", [-1, -0.001, math.nan, float("-inf")])
def test_sleep_rejects_negative_and_nan(seconds):
    wait = FakeWait()
    with pytest.raises(ValueError):
        interruptible_sleep(wait)(seconds)
    assert wait.asked == []


@pytest.mark.parametrize("seconds", [None, [1], object()])
def test_sleep_rejects_non_numbers(seconds):
    wait = FakeWait()
    with pytest.raises(TypeError):
        interruptible_sleep(wait)(seconds)
    assert wait.asked == []


@pytest.mark.parametrize("seconds", ["x", "0.01", b"0.01"], ids=["word", "number-str", "bytes"])
def test_sleep_rejects_strings_like_time_sleep(seconds):
    """`time.sleep("0.01")` is a TypeError; the replacement must agree (it is
    installed as `time.sleep` in the kernel)."""
    with pytest.raises(TypeError):
        time.sleep(seconds)
    wait = FakeWait(fraction=0.0)
    with pytest.raises(TypeError):
        interruptible_sleep(wait)(seconds)
    assert wait.asked == []


def test_sleep_keeps_time_sleep_doc():
    assert interruptible_sleep(FakeWait()).__doc__ == time.sleep.__doc__


# -- stdin_reader ----------------------------------------------------------------------------


class FakeAsk:
    def __init__(self, answer):
        self.answer = answer
        self.prompts: list = []

    def __call__(self, prompt):
        self.prompts.append(prompt)
        return self.answer


def test_reader_returns_answer():
    ask = FakeAsk((True, "hello"))
    assert stdin_reader(ask)("name? ") == "hello"
    assert ask.prompts == ["name? "]


def test_reader_returns_empty_answer():
    assert stdin_reader(FakeAsk((True, "")))("x") == ""


def test_reader_raises_keyboard_interrupt_when_not_answered():
    ask = FakeAsk((False, ""))
    with pytest.raises(KeyboardInterrupt):
        stdin_reader(ask)("name? ")
    assert ask.prompts == ["name? "]


def test_reader_converts_prompt_to_str():
    ask = FakeAsk((True, "1"))
    read = stdin_reader(ask)
    read(42)
    read(None)
    assert ask.prompts == ["42", "None"]
    assert all(type(p) is str for p in ask.prompts)


def test_reader_default_prompt_is_empty():
    ask = FakeAsk((True, "x"))
    stdin_reader(ask)()
    assert ask.prompts == [""]


def test_reader_converts_answer_to_str():
    assert stdin_reader(FakeAsk((True, 7)))() == "7"


# -- CellTasks -------------------------------------------------------------------------------


def make_kernel_class(events=None):
    """A kernel class like pyodide_kernel's: `run` awaits; the cell catches the
    KeyboardInterrupt as IPython does and reports it."""

    class Kernel:
        async def run(self, code):
            if events is not None:
                events.append(("run", self, code))
            try:
                await asyncio.sleep(100)
            except KeyboardInterrupt:
                return "interrupted"
            return "finished"

    return Kernel


def test_interrupt_raises_at_the_await():
    tasks = CellTasks()
    Kernel = make_kernel_class()
    tasks.track(Kernel)

    async def main():
        run = asyncio.create_task(Kernel().run("cell"))
        await asyncio.sleep(0.01)  # run is now suspended in its sleep
        assert tasks.current is run
        assert not run.done()
        assert tasks.interrupt() is True
        return await asyncio.wait_for(run, 5)

    start = time.monotonic()
    assert asyncio.run(main()) == "interrupted"
    assert time.monotonic() - start < 5
    assert tasks.current is None


def test_interrupt_without_running_cell_returns_false():
    tasks = CellTasks()
    tasks.track(make_kernel_class())
    assert tasks.current is None
    assert tasks.interrupt() is False


def test_interrupt_after_cell_finished_returns_false():
    tasks = CellTasks()

    class Kernel:
        async def run(self, code):
            await asyncio.sleep(0)
            return code * 2

    tasks.track(Kernel)

    async def main():
        result = await Kernel().run("ab")
        return result, tasks.interrupt()

    assert asyncio.run(main()) == ("abab", False)
    assert tasks.current is None


def test_interrupt_while_cell_runs_python_returns_false():
    """The running task waits on nothing: the interrupt buffer stops it."""
    tasks = CellTasks()
    seen = []

    class Kernel:
        async def run(self, code):
            seen.append(tasks.current is asyncio.current_task())
            seen.append(tasks.interrupt())
            return "ok"

    tasks.track(Kernel)
    assert asyncio.run(Kernel().run("x")) == "ok"
    assert seen == [True, False]


def test_track_passes_kernel_and_code_through():
    events = []
    tasks = CellTasks()
    Kernel = make_kernel_class(events)
    tasks.track(Kernel)
    kernel = Kernel()

    async def main():
        run = asyncio.create_task(kernel.run("print(1)"))
        await asyncio.sleep(0.01)
        tasks.interrupt()
        return await run

    assert asyncio.run(main()) == "interrupted"
    assert events == [("run", kernel, "print(1)")]


def test_current_is_reset_when_run_raises():
    tasks = CellTasks()

    class Kernel:
        async def run(self, code):
            await asyncio.sleep(0)
            raise RuntimeError(code)

    tasks.track(Kernel)
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(Kernel().run("boom"))
    assert tasks.current is None


def test_interrupt_reaches_a_nested_task():
    """The cell awaits a task which awaits a sleep: the interrupt lands in the
    inner sleep and travels up (the inner coroutine catches it here, since an
    uncaught KeyboardInterrupt in a nested Task escapes CPython's loop)."""
    tasks = CellTasks()
    inner_tasks = []

    async def inner():
        try:
            await asyncio.sleep(100)
        except KeyboardInterrupt:
            return "inner interrupted"
        return "inner finished"

    class Kernel:
        async def run(self, code):
            task = asyncio.create_task(inner())
            inner_tasks.append(task)
            return await task

    tasks.track(Kernel)

    async def main():
        run = asyncio.create_task(Kernel().run("x"))
        await asyncio.sleep(0.01)
        waiter = innermost_waiter(run)
        # the innermost waiter is the inner task's sleep future, not a task
        assert waiter is not None
        assert not isinstance(waiter, asyncio.Task)
        assert waiter is innermost_waiter(inner_tasks[0])
        assert tasks.interrupt() is True
        return await asyncio.wait_for(run, 5)

    assert asyncio.run(main()) == "inner interrupted"
    assert tasks.current is None


# -- innermost_waiter ------------------------------------------------------------------------


def test_innermost_waiter_of_none_is_none():
    assert innermost_waiter(None) is None


def test_innermost_waiter_of_object_without_waiter_is_none():
    assert innermost_waiter(object()) is None


def test_innermost_waiter_is_the_awaited_future():
    async def main():
        fut = asyncio.get_running_loop().create_future()

        async def wait_on():
            return await fut

        task = asyncio.create_task(wait_on())
        await asyncio.sleep(0)
        found = innermost_waiter(task)
        fut.set_result(5)
        return fut, found, await task

    fut, found, result = asyncio.run(main())
    assert found is fut
    assert result == 5


def test_innermost_waiter_of_done_future_is_none():
    async def main():
        fut = asyncio.get_running_loop().create_future()

        async def wait_on():
            return await fut

        task = asyncio.create_task(wait_on())
        await asyncio.sleep(0)
        fut.set_result(1)
        # the task has not woken yet: it still points at the (done) future
        found = innermost_waiter(task)
        await task
        return found, innermost_waiter(task)

    assert asyncio.run(main()) == (None, None)


def test_innermost_waiter_of_running_task_is_none():
    async def main():
        return innermost_waiter(asyncio.current_task())

    assert asyncio.run(main()) is None
