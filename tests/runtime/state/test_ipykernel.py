"""The magics in a real ipykernel (CPython), driven by jupyter_client."""

from __future__ import annotations

TIMEOUT = 60


def execute(kc, code):
    stdout, errors = [], []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            stdout.append(content["text"])  # UsageError text goes to stderr
        elif kind == "error":
            errors.append(content)

    reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
    return reply["content"], "".join(stdout), errors


def run_ok(kc, code):
    reply, out, errors = execute(kc, code)
    assert reply["status"] == "ok", errors
    return out


def test_export_reset_import(kernel_client, tmp_path):
    kc, path = kernel_client, tmp_path / "x.zip"
    run_ok(
        kc,
        "from jupyterlite_stream.runtime.state import register_magics\n"
        "register_magics(get_ipython())\n"
        "import sqlite3, math\n"
        "grades = {'ada': [5, 4], 'bo': [3]}\n"
        "when = (2024, 5)\n"
        "db = sqlite3.connect(':memory:')\n"
        "db.execute('CREATE TABLE pupils (name TEXT, grade INT)')\n"
        "db.executemany('INSERT INTO pupils VALUES (?, ?)', [('ada', 5), ('bo', 3)])\n"
        "db.commit()\n"
        "def mean(xs):\n"
        "    return sum(xs) / len(xs)\n"
        "class Pupil:\n"
        "    def __init__(self, name): self.name = name\n"
        "    def average(self): return mean(grades[self.name])\n"
        "ada = Pupil('ada')\n"
        "lines = (l for l in [])\n",
    )
    out = run_ok(kc, f"%export_state {path}")
    assert "saved" in out and "lines: generator" in out
    assert path.exists()
    run_ok(kc, "%reset -f")
    out = run_ok(kc, "print('grades' in dir(), 'db' in dir())")
    assert out.split() == ["False", "False"]
    out = run_ok(kc, f"%import_state {path} --trust")
    assert "restored" in out
    out = run_ok(
        kc,
        "print(grades['ada'], when, math.pi > 3)\n"
        "print(db.execute('SELECT name FROM pupils ORDER BY grade').fetchall())\n"
        "print(ada.average(), isinstance(ada, Pupil), mean([1, 3]))\n",
    )
    assert out.splitlines() == ["[5, 4] (2024, 5) True", "[('bo',), ('ada',)]", "4.5 True 2.0"]


def test_import_without_trust_and_rejection(kernel_client, tmp_path):
    kc, path = kernel_client, tmp_path / "y.zip"
    run_ok(
        kc,
        "from jupyterlite_stream.runtime.state import register_magics\n"
        "register_magics(get_ipython())\n"
        "value = [1, 2]\n"
        "def f(): return 1\n",
    )
    run_ok(kc, f"%export_state {path}")
    run_ok(kc, "%reset -f")
    out = run_ok(kc, f"%import_state {path}")
    assert "needs trust" in out and "--trust" in out
    assert run_ok(kc, "print(value, 'f' in dir())").split() == ["[1,", "2]", "False"]
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    reply, out, _ = execute(kc, f"%import_state {tmp_path / 'bad.zip'}")
    assert reply["status"] == "error"
    assert "UsageError: state file rejected, nothing changed" in out and "not a zip" in out
    assert run_ok(kc, "print(value)").strip() == "[1, 2]"


def test_load_ext(kernel_client, tmp_path):
    out = run_ok(
        kernel_client,
        "%load_ext jupyterlite_stream.runtime.state\n"
        f"%export_state {tmp_path / 'z.zip'} --no-files\n",
    )
    assert "saved" in out
