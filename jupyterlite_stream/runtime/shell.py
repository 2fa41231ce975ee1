"""`!` shell commands in a browser kernel.

There is no shell in the browser. The one command courses really need,
`!pip install X` (how Colab users install packages), becomes the kernel's own
`%pip install X`; every other `!cmd`, `!!cmd` and `%sx cmd` prints one short
line on stderr naming the command instead of IPython's `OSError: Not
available` traceback.
"""

from __future__ import annotations

import re
import sys

#: `!pip ...`, `!pip3 ...`, `!python -m pip ...`, `!python3 -m pip ...`
_PIP_LINE = re.compile(r"^(\s*)!\s*(?:pip3?|python3?\s+-m\s+pip)\b(.*)$", re.DOTALL)


def pip_line(line: str) -> str:
    """`line` with a `!pip` command written as `%pip`; other lines unchanged."""
    match = _PIP_LINE.match(line)
    if match is None:
        return line
    return f"{match[1]}%pip{match[2]}"


async def pip_shell_lines(lines: list[str]) -> list[str]:
    """A line transform of pyodide_kernel's `LiteTransformerManager`; runs
    before its `%pip` transform so that `!pip` goes the same way."""
    return [pip_line(line) for line in lines]


def unavailable_message(command: str) -> str:
    """The one line a shell command prints."""
    name = command.strip().split()[0] if command.strip() else "!"
    return (
        f"!{name}: shell commands are not available in the browser "
        f"(Python runs in the page); use Python instead, e.g. os.listdir() or open()"
    )


def no_system(command: str) -> None:
    """`shell.system`: say the command cannot run, with no traceback."""
    print(unavailable_message(command), file=sys.stderr)


def no_getoutput(command: str, split: bool = True, depth: int = 0):
    """`shell.getoutput` (`!!cmd`, `%sx`, `x = !cmd`): the message, and an
    empty output so code that reads it keeps going."""
    from IPython.utils.text import SList

    no_system(command)
    return SList() if split else ""


def install_shell_commands(kernel) -> None:
    """Hook the kernel's shell and its cell transforms."""
    shell = kernel.interpreter
    shell.system = no_system
    shell.system_piped = no_system
    shell.system_raw = no_system
    shell.getoutput = no_getoutput
    manager = getattr(kernel, "lite_transform_manager", None)
    if manager is not None and pip_shell_lines not in manager.line_transforms:
        manager.line_transforms.insert(0, pip_shell_lines)
