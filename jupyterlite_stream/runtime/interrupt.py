"""Interrupts of code that is blocked rather than running.

Pyodide's interrupt buffer raises KeyboardInterrupt in running bytecode only.
A cell blocked in `time.sleep`, in `input()` or in an awaited coroutine runs
no bytecode, so each gets its own wake-up here.
"""

import asyncio
import math
import time


def interruptible_sleep(wait):
    """A `time.sleep` that wakes when the page interrupts.

    `wait(ms)` blocks up to `ms` milliseconds and returns True when it was
    woken by an interrupt (it also takes the request, so it is not raised
    twice). A wake-up without an interrupt sleeps on until the deadline, so an
    uninterrupted sleep lasts its full time.
    """

    def sleep(seconds):
        __tracebackhide__ = True  # the user called time.sleep: show their line only
        if isinstance(seconds, (str, bytes, bytearray)):
            raise TypeError(
                f"'{type(seconds).__name__}' object cannot be interpreted as an integer"
            )
        seconds = float(seconds)  # TypeError for None, lists ... as time.sleep
        if math.isnan(seconds) or seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        remaining = seconds
        while remaining > 0:
            if wait(remaining * 1000.0):
                raise KeyboardInterrupt
            remaining = deadline - time.monotonic()

    sleep.__doc__ = time.sleep.__doc__
    return sleep


def stdin_reader(ask, default_prompt=""):
    """Wrap the worker's `ask(prompt) -> (answered, text)` as `input()` (and,
    with the same signature as the standard one, `getpass.getpass`)."""

    def read(prompt=default_prompt, stream=None):
        __tracebackhide__ = True  # the user called input(): show their line only
        answered, text = ask(str(prompt))
        if not answered:
            raise KeyboardInterrupt
        return str(text)

    return read


class CellTasks:
    """Knows the asyncio task that runs the current cell, so that an interrupt
    can reach an `await` where the cell is suspended."""

    def __init__(self):
        self.current = None

    def track(self, kernel_class):
        """Wrap `kernel_class.run` (one call per cell) to record its task."""
        run = kernel_class.run
        tasks = self

        async def run_tracked(kernel, code):
            tasks.current = asyncio.current_task()
            try:
                return await run(kernel, code)
            finally:
                tasks.current = None

        kernel_class.run = run_tracked

    def interrupt(self):
        """Raise KeyboardInterrupt at the `await` the cell is suspended in.

        Returns False when no cell awaits anything (it is not running, or it
        runs Python, which the interrupt buffer stops).
        """
        waiter = innermost_waiter(self.current)
        if waiter is None:
            return False
        waiter.set_exception(KeyboardInterrupt())
        return True


def innermost_waiter(task):
    """The pending future at the bottom of a chain of awaited tasks, if any.

    A Task cannot take an exception from outside; the plain future it waits
    on (a sleep timer, a JavaScript promise, a queue getter) can, and the
    exception then travels up through every task awaiting it.
    """
    waiter = None
    while task is not None:
        waiter = getattr(task, "_fut_waiter", None)
        if not isinstance(waiter, asyncio.Task):
            break
        task = waiter
    if waiter is None or waiter.done():
        return None
    return waiter
