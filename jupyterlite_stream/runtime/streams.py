"""Coalesced stdout and stderr for the Pyodide kernel.

The stock kernel's streams (`pyodide_kernel.display.LiteStream`) post one
message to the page per `write`: `for i in range(100_000): print(i)` is 200 000
messages, and the page renders them long after the loop is done. Here the
writes of both streams wait in one buffer and go out together.

Pyodide runs no thread and no timer while a cell runs Python, so the buffer is
sent from the calls that happen anyway:

- at a write `FLUSH_INTERVAL` seconds or more after the last send (so output
  after a pause shows at once, and a busy loop sends about 20 messages a
  second), or when `MAX_PENDING_CHARS` wait;
- at `flush()` (`print(..., flush=True)`, `sys.stdout.flush()`);
- before a write to the other stream (stdout and stderr keep their order),
  before a display is published or cleared (a bar, an image, `display()`),
  before `input()`, `getpass()` and `time.sleep()`;
- at the end of every cell, also when it failed or was interrupted.

The page is still sent each stream's text in order, under the stream's own
`publish_stream_callback` (which the worker sets for every cell).
"""

import sys
import time

from .output_limit import OutputLimit

#: a write this many seconds after the last send sends the buffer
FLUSH_INTERVAL = 0.05
#: this much text waiting is sent at once
MAX_PENDING_CHARS = 1 << 16


class Coalescer:
    """Text written to the streams and not sent yet (of one stream at a time)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._stream = None
        self._parts = []
        self._size = 0
        self._sent_at = float("-inf")
        #: an `OutputLimit` the text must fit in, or None
        self.limit = None

    def write(self, stream, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        written = len(text)
        if self.limit is not None:
            text = self.limit.admit_text(text)
            if not text:
                return written
        if stream is not self._stream:
            self.flush()
            self._stream = stream
        self._parts.append(text)
        self._size += len(text)
        if self._size >= MAX_PENDING_CHARS or self._clock() - self._sent_at >= FLUSH_INTERVAL:
            self.flush()
        return written

    def flush(self):
        """Send what waits, as one message."""
        if not self._parts:
            return
        self._send("".join(self._parts))
        # only now: an interrupt that stops `_send` leaves the text here for
        # the end-of-cell flush (a repeat beats a loss)
        self._parts.clear()
        self._size = 0
        self._sent_at = self._clock()

    def _send(self, text):
        stream = self._stream
        # None before the first cell, as in the stock kernel: then it is dropped
        callback = stream.publish_stream_callback
        if callback is not None and text:
            callback(stream.name, text)


#: the buffer of the kernel's stdout and stderr
output = Coalescer()


def install_kernel_output(kernel):
    """Coalesced streams and tqdm line mode for a `pyodide_kernel` kernel; the
    worker's `runtime.install` calls this once, after its own patches (it
    wraps the `time.sleep` and `input` they install).

    Does nothing without `pyodide_kernel` (stand-in kernels of the unit tests
    of `install`): the streams it coalesces are that module's.
    """
    lite = sys.modules.get("pyodide_kernel")
    if lite is None:
        return
    from .tqdm_line import install_tqdm_line_mode

    shell = kernel.interpreter
    output.limit = OutputLimit(publish_note)
    coalesce_streams(type(lite.stdout_stream), output)
    flush_before_displays(type(shell.display_pub), output)
    limit_displays(type(shell.display_pub), output.limit)
    flush_after_cells(type(kernel), output)
    flush_before_input(type(shell), output)
    time.sleep = flushing_first(time.sleep, output)
    install_tqdm_line_mode(shell)


def coalesce_streams(stream_class, coalescer):
    """Make `stream_class` (LiteStream) write through `coalescer`."""

    def write(stream, text):
        return coalescer.write(stream, text)

    def writelines(stream, lines):
        for line in lines:
            coalescer.write(stream, line)

    def flush(stream):
        coalescer.flush()

    stream_class.write = write
    stream_class.writelines = writelines
    stream_class.flush = flush


def flushing_first(function, coalescer):
    """`function`, sending the waiting output before it runs."""

    def flushed_first(*args, **kwargs):
        __tracebackhide__ = True  # IPython leaves our frame out of tracebacks
        coalescer.flush()
        return function(*args, **kwargs)

    flushed_first.__name__ = getattr(function, "__name__", "flushed_first")
    flushed_first.__doc__ = getattr(function, "__doc__", None)
    flushed_first.__wrapped__ = function
    return flushed_first


def flush_before_displays(publisher_class, coalescer):
    """A display goes after the text printed before it, as in ipykernel."""
    publisher_class.publish = flushing_first(publisher_class.publish, coalescer)
    publisher_class.clear_output = flushing_first(publisher_class.clear_output, coalescer)


def flush_after_cells(kernel_class, coalescer):
    """Wrap `kernel_class.run` (one call per cell): everything a cell printed
    is sent before its reply (and its error, which the worker sends after)."""
    run = kernel_class.run

    async def run_and_flush(kernel, code):
        try:
            return await run(kernel, code)
        finally:
            coalescer.flush()
            if coalescer.limit is not None:
                coalescer.limit.end_cell()

    kernel_class.run = run_and_flush


def limit_displays(publisher_class, limit):
    """New displays past the cell's limit are dropped (and counted in the
    note); updates of shown ones pass, and a `clear_output` starts again."""
    publish = publisher_class.publish
    clear_output = publisher_class.clear_output

    def publish_within_limit(publisher, data, *args, **kwargs):
        if kwargs.get("update") or limit.admit_display():
            return publish(publisher, data, *args, **kwargs)
        return None

    def clear_and_count_again(publisher, *args, **kwargs):
        limit.cleared()
        return clear_output(publisher, *args, **kwargs)

    publisher_class.publish = publish_within_limit
    publisher_class.clear_output = clear_and_count_again


def publish_note(text, display_id, update):
    """Show (or update) the output limit's note under the cell's output."""
    from IPython.display import publish_display_data

    publish_display_data({"text/plain": text}, transient={"display_id": display_id}, update=update)


def flush_before_input(shell_class, coalescer):
    """The worker sets the shell's `input`/`getpass` for every cell, and the
    setters install `builtins.input`/`getpass.getpass`: wrap those setters so
    a prompt comes after the text printed before it."""
    import builtins
    import getpass

    def wrap_setter(name, module, attribute):
        prop = getattr(shell_class, name)

        def set_and_wrap(shell, ask):
            prop.fset(shell, ask)
            setattr(module, attribute, flushing_first(getattr(module, attribute), coalescer))

        setattr(shell_class, name, property(prop.fget, set_and_wrap))

    wrap_setter("input", builtins, "input")
    wrap_setter("getpass", getpass, "getpass")
