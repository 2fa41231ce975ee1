"""The `jupyterlite-stream` command: build a site from a folder of notebooks,
and serve it locally with the headers that make it cross-origin isolated.

    jupyterlite-stream init my-course
    jupyterlite-stream build --contents content
    jupyterlite-stream serve --contents content --port 8000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .headers import ISOLATION_HEADERS


def lite(*args: str) -> int:
    """Run `jupyter lite ...` with this Python."""
    return subprocess.call([sys.executable, "-m", "jupyterlite_core", *args])


def build(args: argparse.Namespace, extra: list[str]) -> int:
    cmd = ["build", "--output-dir", args.output_dir]
    for folder in args.contents:
        cmd += ["--contents", folder]
    if args.pyodide_dist:
        cmd += ["--pyodide-dist", args.pyodide_dist]
    if args.requirements:
        cmd += ["--requirements", args.requirements]
    if args.wheel_cache:
        cmd += ["--wheel-cache", args.wheel_cache]
    return lite(*cmd, *extra)


def serve(args: argparse.Namespace, extra: list[str]) -> int:
    if not args.no_build:
        code = build(args, extra)
        if code:
            return code
    cmd = ["serve", "--output-dir", args.output_dir, "--port", str(args.port)]
    if not args.no_isolation_headers:
        cmd += [
            f"--LiteBuildConfig.extra_http_headers={k}={v}" for k, v in ISOLATION_HEADERS.items()
        ]
    print(f"Serving {args.output_dir} on http://127.0.0.1:{args.port}/ (Ctrl+C stops)", flush=True)
    return lite(*cmd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="jupyterlite-stream", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("build", build), ("serve", serve)):
        p = sub.add_parser(
            name, help=f"{name} the site (other options go to `jupyter lite build`)"
        )
        p.set_defaults(func=func)
        p.add_argument(
            "--contents",
            action="append",
            default=None,
            help="a folder of notebooks and files (repeatable; default: content)",
        )
        p.add_argument("--output-dir", default="_output", help="where the site goes")
        p.add_argument(
            "--pyodide-dist",
            help="a full Pyodide distribution (folder or "
            ".tar.bz2) to bundle, so compiled packages work offline",
        )
        p.add_argument(
            "--requirements",
            help="a requirements.txt of pure-Python packages to bundle (import X works offline)",
        )
        p.add_argument(
            "--wheel-cache",
            help="a folder of wheels for --requirements: no network, pip looks only there",
        )
        if name == "serve":
            p.add_argument("--port", type=int, default=8000)
            p.add_argument("--no-build", action="store_true", help="serve what is built")
            p.add_argument(
                "--no-isolation-headers",
                action="store_true",
                help="serve without COOP/COEP, as GitHub Pages does",
            )
    add_init_command(sub)
    args, extra = parser.parse_known_args(argv)
    if args.command == "init":
        return init(args, extra)
    args.contents = args.contents or ["content"]
    return args.func(args, extra)


def add_init_command(sub) -> None:
    p = sub.add_parser("init", help="write a new course folder, ready for GitHub Pages")
    p.add_argument("folder", help="the course folder (made if missing)")
    p.add_argument(
        "--force",
        action="store_true",
        help="add the missing course files to a folder that is not empty "
        "(existing files are never overwritten)",
    )


def init(args: argparse.Namespace, extra: list[str]) -> int:
    from .scaffold import ScaffoldError, init_course, next_steps

    if extra:
        print(f"jupyterlite-stream init: unknown arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    try:
        report = init_course(Path(args.folder), force=args.force)
    except ScaffoldError as err:
        print(f"jupyterlite-stream init: {err}", file=sys.stderr)
        return 1
    print(next_steps(Path(args.folder), report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
