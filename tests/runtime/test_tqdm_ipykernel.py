"""tqdm line mode in a real ipykernel (CPython), as in JupyterLab:
`%load_ext jupyterlite_stream`, then tqdm as usual."""

from __future__ import annotations

import re

import pytest

TIMEOUT = 60
LINE_MESSAGES = ("display_data", "update_display_data")


@pytest.fixture(scope="module")
def kernel_client(kernel_client):
    """The shared ipykernel, with line mode loaded as a JupyterLab user would."""
    reply, _ = execute(kernel_client, "%load_ext jupyterlite_stream")
    assert reply["status"] == "ok", reply
    return kernel_client


def execute(kc, code):
    """Run `code`; return (reply content, the cell's output messages)."""
    messages = []

    def hook(msg):
        messages.append((msg["msg_type"], msg["content"]))

    reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
    return reply["content"], messages


class Lines:
    """The bars' lines of one cell, by display id in the order they were made."""

    def __init__(self, messages):
        self.messages = [(kind, c) for kind, c in messages if kind in LINE_MESSAGES]
        self.texts: dict[str, list[str]] = {}
        self.kinds: dict[str, list[str]] = {}
        for kind, content in self.messages:
            display_id = content["transient"]["display_id"]
            self.texts.setdefault(display_id, []).append(content["data"]["text/plain"])
            self.kinds.setdefault(display_id, []).append(kind)

    @property
    def ids(self) -> list[str]:
        return list(self.texts)

    def final(self, index: int = 0) -> str:
        return self.texts[self.ids[index]][-1]


def run_lines(kc, code):
    reply, messages = execute(kc, code)
    assert reply["status"] == "ok", reply
    return Lines(messages), messages


def streams_of(messages, name=None):
    return [c for kind, c in messages if kind == "stream" and name in (None, c["name"])]


def test_a_loop_is_one_line_updated_in_place(kernel_client):
    lines, messages = run_lines(
        kernel_client, "from tqdm import tqdm\nfor i in tqdm(range(1000)):\n    pass\n"
    )
    [line] = lines.ids
    kinds = lines.kinds[line]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}
    assert "100%" in lines.final() and "1000/1000" in lines.final()
    assert streams_of(messages) == [], "no \\r fragments on stdout or stderr"


def test_every_import_path_draws_lines_without_warnings(kernel_client):
    code = (
        "import tqdm, tqdm.auto, tqdm.notebook, tqdm.autonotebook, tqdm.asyncio\n"
        "for make in (tqdm.tqdm, tqdm.auto.tqdm, tqdm.notebook.tqdm,\n"
        "             tqdm.autonotebook.tqdm, tqdm.asyncio.tqdm):\n"
        "    for i in make(range(3)):\n"
        "        pass\n"
        "for i in tqdm.trange(3):\n"
        "    pass\n"
    )
    lines, messages = run_lines(kernel_client, code)
    assert len(lines.ids) == 6
    assert all(lines.final(i).startswith("100%|") for i in range(6))
    assert streams_of(messages) == [], [c["text"] for c in streams_of(messages)]


def test_updates_are_rate_limited(kernel_client):
    """2000 updates spread over 2 seconds: about 10 redraws a second."""
    code = (
        "import time\nfrom tqdm import tqdm\n"
        "bar = tqdm(total=2000)\n"
        "start = time.monotonic()\n"
        "for i in range(2000):\n"
        "    time.sleep(max(0, start + i / 1000 - time.monotonic()))\n"
        "    bar.update(1)\n"
        "bar.close()\n"
        "print(time.monotonic() - start)\n"
    )
    lines, messages = run_lines(kernel_client, code)
    seconds = float("".join(c["text"] for c in streams_of(messages, "stdout")))
    [line] = lines.ids
    # 10 a second, the first and the last state; a loaded machine may stretch the loop
    assert len(lines.texts[line]) <= 10 * max(seconds, 2) + 5
    assert len(lines.texts[line]) >= 10, "the line moves while the loop runs"
    assert "2000/2000" in lines.final()


def test_nested_bars_have_distinct_lines(kernel_client):
    code = (
        "from tqdm.auto import trange\n"
        "for i in trange(3, desc='epochs'):\n"
        "    for j in trange(50, desc='batches', leave=False):\n"
        "        pass\n"
    )
    lines, _ = run_lines(kernel_client, code)
    outer, inner = lines.ids
    assert lines.texts[outer][-1].startswith("epochs: 100%")
    assert lines.texts[inner][-1] == "", "leave=False empties the line"


def test_leave_false_clears_the_line(kernel_client):
    lines, _ = run_lines(
        kernel_client, "from tqdm import tqdm\nfor i in tqdm(range(10), leave=False):\n    pass\n"
    )
    [line] = lines.ids
    assert lines.texts[line][0].startswith("  0%")
    assert lines.texts[line][-1] == ""


def test_write_goes_to_stdout(kernel_client):
    code = "from tqdm import tqdm\nfor i in tqdm(range(3)):\n    tqdm.write(f'item {i}')\n"
    lines, messages = run_lines(kernel_client, code)
    stdout = "".join(c["text"] for c in streams_of(messages, "stdout"))
    assert stdout == "item 0\nitem 1\nitem 2\n"
    assert streams_of(messages, "stderr") == []
    assert "3/3" in lines.final()


def test_an_exception_leaves_the_line_where_it_stopped(kernel_client):
    code = (
        "from tqdm import tqdm\n"
        "for i in tqdm(range(100)):\n"
        "    if i == 45:\n"
        "        raise ValueError('stop here')\n"
    )
    reply, messages = execute(kernel_client, code)
    assert reply["status"] == "error" and reply["ename"] == "ValueError"
    lines = Lines(messages)
    assert re.match(r"^ 45%\|.*\| 45/100 \[", lines.final()), lines.final()
    # the line is drawn before the traceback
    kinds = [kind for kind, _ in messages]
    assert kinds.index("error") > max(i for i, k in enumerate(kinds) if k in LINE_MESSAGES)


def test_manual_bar_description_and_postfix(kernel_client):
    code = (
        "from tqdm import tqdm\n"
        "bar = tqdm(total=None, desc='reading')\n"
        "bar.update(5)\n"
        "bar.set_postfix(file='a.csv')\n"
        "bar.close()\n"
    )
    lines, _ = run_lines(kernel_client, code)
    assert re.match(r"^reading: 5it \[.*, file=a\.csv\]$", lines.final()), lines.final()


def test_a_bar_left_open_shows_its_last_state_at_cell_end(kernel_client):
    code = (
        "from tqdm import tqdm\n"
        "open_bar = tqdm(total=10)\n"
        "open_bar.update(4)\n"
        "open_bar.set_postfix(step='last')\n"
    )
    lines, _ = run_lines(kernel_client, code)
    assert "4/10" in lines.final() and "step=last" in lines.final()
    run_lines(kernel_client, "open_bar.close()")
