"""Interrupts of code that is blocked rather than running.

Pyodide's interrupt buffer raises KeyboardInterrupt in running bytecode only.
A cell blocked in `time.sleep`, in `input()` or in an awaited coroutine runs
no bytecode, so each gets its own wake-up here.
"""

import asyncio
import inspect
import math
import time
from types import CodeType


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
        #: when set, a callable that says whether the cell's own code is the
        #: one awaiting (see GatedCoroutine): the kernel's awaits around the
        #: cell must not take the interrupt, or it is lost
        self.user_code_awaits = None

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
        if self.user_code_awaits is not None and not self.user_code_awaits():
            return False
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


class UserCodeGate:
    """Let a Stop reach Python only while the user's own code runs.

    Pyodide raises KeyboardInterrupt at the next bytecode check once the page
    writes the interrupt buffer, wherever Python is. Outside the cell's code
    (the kernel preparing the cell, IPython formatting a traceback, the event
    loop between two awaits, a completion request) a KeyboardInterrupt skips
    the kernel's reply and leaves the cell busy forever. So the worker hands
    the buffer to Pyodide only inside the code objects IPython executes
    (`arm(True)` ... `arm(False)`, counted, for nested cells), and a Stop that
    comes while the gate is shut waits in the buffer for the cell's code:
    before its first line it stops it there, after its last line the next
    cell clears it.
    """

    def __init__(self, arm):
        self._arm = arm

    def install(self, module):
        """Make `module` (IPython's interactiveshell, whose `run_code` runs
        every cell) execute code objects through the gate: a module global
        shadows the builtin `exec`/`eval` for that module alone."""
        module.exec = self.exec
        module.eval = self.eval

    def exec(self, source, *args, **kwargs):
        if not isinstance(source, CodeType):
            return exec(source, *args, **kwargs)
        # a Stop that waited is raised at once: Pyodide only looks at the
        # signal every so many checks, and a short cell may finish first
        pending = self._arm(True)
        try:
            if pending:
                raise KeyboardInterrupt
            return exec(source, *args, **kwargs)
        finally:
            self._arm(False)

    def eval(self, source, *args, **kwargs):
        if not isinstance(source, CodeType):
            return eval(source, *args, **kwargs)
        pending = self._arm(True)
        try:
            if pending:
                raise KeyboardInterrupt
            result = eval(source, *args, **kwargs)
        finally:
            self._arm(False)
        # a cell with top-level `await` evaluates to a coroutine: its code
        # runs when IPython awaits it, one step at a time
        if inspect.iscoroutine(result):
            return GatedCoroutine(result, self._arm)
        return result


class GatedCoroutine:
    """A coroutine whose steps run with the gate open: a Stop reaches the
    cell's own frames, never the event loop between two of its steps (an
    awaiting cell is stopped by `CellTasks.interrupt` instead)."""

    #: how many cell coroutines are suspended in an `await` of their own now
    awaiting = 0

    def __init__(self, coroutine, arm):
        self._coroutine = coroutine
        self._arm = arm
        self._suspended = False

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        return self._step(self._coroutine.send, value)

    def throw(self, *exc_info):
        return self._step(self._coroutine.throw, *exc_info)

    def _step(self, step, *args):
        if self._suspended:
            self._suspended = False
            GatedCoroutine.awaiting -= 1
        pending = self._arm(True)
        try:
            yielded = self._coroutine.throw(KeyboardInterrupt()) if pending else step(*args)
        finally:
            self._arm(False)
        # not finished: the cell's code waits in an await of its own
        self._suspended = True
        GatedCoroutine.awaiting += 1
        return yielded

    def close(self):
        if self._suspended:
            self._suspended = False
            GatedCoroutine.awaiting -= 1
        return self._coroutine.close()
