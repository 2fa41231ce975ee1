"""The part of jupyterlite-stream that runs inside the kernel.

It is loaded by the kernel's worker at start (`install`) and stays importable
under CPython, where its pieces are unit-tested with ipykernel. Nothing here
imports the build-time code in `jupyterlite_stream.builder`.
"""

import sys

from . import errors
from .errors import exception_name, install_error_locations, install_error_names
from .interrupt import (
    CellTasks,
    GatedCoroutine,
    UserCodeGate,
    interruptible_sleep,
    stdin_reader,
)
from .snapshot import refresh_after_restore
from .streams import install_kernel_output, output
from .tracebacks import install_fast_tracebacks

__all__ = [
    "install",
    "begin_cell",
    "interrupt_await",
    "exception_name",
    "output_limit",
    "refresh_after_restore",
    "start_phases",
]

#: the task of the running cell, for interrupts of awaited coroutines
cell_tasks = CellTasks()

#: the kernel's IPython shell, once installed
_shell = None
#: the worker's bridge, once installed
_bridge = None


def install(kernel, bridge):
    """Set up a fresh `pyodide_kernel` kernel; called once by the worker.

    `bridge` is the worker's JavaScript object: `canInterrupt` (the page shares
    an interrupt buffer), `sleep(ms) -> bool` (wait on it; True when woken
    by an interrupt), `arm(on)` (let the buffer reach Python, or not: see
    `UserCodeGate`), `outputLimit` (the site's bounds, JSON) and
    `phases() -> str` (the start-up phases, JSON).
    """
    import time

    global _shell, _bridge
    _shell = kernel.interpreter
    _bridge = bridge
    shell_class = type(kernel.interpreter)
    install_error_names(shell_class)
    install_error_locations(type(kernel))
    _install_stdin(shell_class)
    cell_tasks.track(type(kernel))
    if bridge.canInterrupt:
        time.sleep = interruptible_sleep(bridge.sleep)
        from IPython.core import interactiveshell

        UserCodeGate(bridge.arm).install(interactiveshell)
        cell_tasks.user_code_awaits = lambda: GatedCoroutine.awaiting > 0
    _install_state_magics(kernel.interpreter)
    _install_course_support(kernel)
    install_fast_tracebacks()
    # last: it wraps the time.sleep and the input()/getpass setters installed above
    install_kernel_output(kernel)
    _configure_output_limit(bridge.outputLimit)


def _configure_output_limit(settings_json):
    """The site's output bounds; a wrong setting is named in the browser
    console and the defaults stay."""
    import json

    if output.limit is None:  # no pyodide_kernel streams (unit tests' stand-ins)
        return
    try:
        settings = json.loads(settings_json or "{}")
        if not isinstance(settings, dict):
            raise ValueError(f"output limit: expected an object, not {settings!r}")
        output.limit.configure(**settings)
    except (ValueError, TypeError) as error:
        print(f"[jupyterlite-stream] outputLimit setting ignored: {error}", file=sys.__stderr__)


def output_limit(**bounds):
    """Change how much one cell shows: `lines`, `chars` (stream text) and
    `displays` (new displays) per cell; None or 0 switches a bound off.
    Returns the bounds now in force.

        output_limit(lines=100_000)     # a long listing
        output_limit(lines=None, chars=None)  # everything (the page may slow down)
    """
    if output.limit is None:
        raise RuntimeError("output_limit() works in the jupyterlite-stream kernel only")
    output.limit.configure(**bounds)
    return dict(output.limit.bounds)


def _install_state_magics(shell):
    """`%export_state` and `%import_state` (see `runtime.state`)."""
    from .state import register_magics

    register_magics(shell)


def _install_course_support(kernel):
    """`!pip install` and other `!` commands, urllib downloads through the
    browser, and `dbm`/`shelve` (issue 15)."""
    from .dbm_sqlite import install_dbm
    from .downloads import install_downloads
    from .shell import install_shell_commands

    install_shell_commands(kernel)
    install_dbm()
    install_downloads()


def begin_cell(cell_id):
    """Called by the worker before each cell with the id JupyterLab sends."""
    errors.begin_cell(_shell, cell_id)
    if output.limit is not None:
        output.limit.begin_cell()


def start_phases() -> list[tuple[str, int]]:
    """How this kernel started: (phase, milliseconds since the worker began)
    pairs, as printed to the browser console. Empty outside the browser."""
    import json

    if _bridge is None:
        return []
    return [(phase, ms) for phase, ms in json.loads(_bridge.phases())]


def interrupt_await():
    """Interrupt the running cell if it awaits something; see `CellTasks`."""
    return cell_tasks.interrupt()


def _install_stdin(shell_class):
    """Make `input()` and `getpass()` raise KeyboardInterrupt when the wait is
    interrupted (the worker answers `[False, ""]` then)."""
    import builtins
    import getpass

    def set_input(shell, ask):
        shell._input = ask
        builtins.input = stdin_reader(ask)

    def set_getpass(shell, ask):
        shell._getpass = ask
        getpass.getpass = stdin_reader(ask, default_prompt="Password: ")

    shell_class.input = property(lambda shell: shell._input, set_input)
    shell_class.getpass = property(lambda shell: shell._getpass, set_getpass)
