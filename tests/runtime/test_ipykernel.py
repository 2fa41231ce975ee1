"""The runtime inside a real ipykernel (CPython), driven by jupyter_client."""

from __future__ import annotations

TIMEOUT = 30


def execute(kc, code):
    """Run `code`; return (reply content, stdout text, error contents)."""
    stdout, errors = [], []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            stdout.append(content["text"])
        elif kind == "error":
            errors.append(content)

    reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
    return reply["content"], "".join(stdout), errors


def test_interruptible_sleep_sleeps_full_time(kernel_client):
    code = (
        "from jupyterlite_stream.runtime.interrupt import interruptible_sleep\n"
        "import time\n"
        "s = interruptible_sleep(lambda ms: (time.sleep(ms / 1000), False)[1])\n"
        "t = time.monotonic()\n"
        "s(0.3)\n"
        "print(round(time.monotonic() - t, 1))\n"
    )
    reply, out, errors = execute(kernel_client, code)
    assert reply["status"] == "ok", errors
    assert out.strip() == "0.3"


def test_interruptible_sleep_interrupt_reaches_the_cell(kernel_client):
    code = (
        "from jupyterlite_stream.runtime.interrupt import interruptible_sleep\n"
        "interruptible_sleep(lambda ms: True)(10)\n"
    )
    reply, _, errors = execute(kernel_client, code)
    assert reply["status"] == "error"
    assert reply["ename"] == "KeyboardInterrupt"
    assert [e["ename"] for e in errors] == ["KeyboardInterrupt"]


def test_exception_name_importable(kernel_client):
    code = (
        "from jupyterlite_stream.runtime import exception_name\n"
        "print(exception_name(ZeroDivisionError))\n"
    )
    reply, out, errors = execute(kernel_client, code)
    assert reply["status"] == "ok", errors
    assert out.strip() == "ZeroDivisionError"


def test_stdin_reader_in_kernel(kernel_client):
    code = (
        "from jupyterlite_stream.runtime.interrupt import stdin_reader\n"
        "read = stdin_reader(lambda prompt: (True, prompt.upper()))\n"
        "print(read('abc'))\n"
        "try:\n"
        "    stdin_reader(lambda prompt: (False, ''))('q')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    reply, out, errors = execute(kernel_client, code)
    assert reply["status"] == "ok", errors
    assert out.split() == ["ABC", "interrupted"]


def test_cell_tasks_in_kernel_loop(kernel_client):
    """Top-level await in ipykernel: a tracked `run` interrupted at its await."""
    code = (
        "import asyncio\n"
        "from jupyterlite_stream.runtime.interrupt import CellTasks\n"
        "class K:\n"
        "    async def run(self, code):\n"
        "        try:\n"
        "            await asyncio.sleep(100)\n"
        "        except KeyboardInterrupt:\n"
        "            return 'interrupted ' + code\n"
        "tasks = CellTasks()\n"
        "tasks.track(K)\n"
        "run = asyncio.ensure_future(K().run('c1'))\n"
        "await asyncio.sleep(0.01)\n"
        "print(tasks.interrupt())\n"
        "print(await asyncio.wait_for(run, 5))\n"
        "print(tasks.current, tasks.interrupt())\n"
    )
    reply, out, errors = execute(kernel_client, code)
    assert reply["status"] == "ok", errors
    assert out.splitlines() == ["True", "interrupted c1", "None False"]
