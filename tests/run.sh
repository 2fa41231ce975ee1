#!/usr/bin/env bash
# Install everything the tests need (Chromium, Node packages, the Python
# package with its test extras), then run every check: lint and all tests.
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k interrupt`.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Install only what is missing: a machine's own Node.js (e.g. from NodeSource,
# which carries npm) conflicts with Debian's `npm` package.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node > /dev/null || missing+=(nodejs)
command -v npm > /dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" > /dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
export PATH="$PWD/.venv/bin:$PATH"   # `python3` in the npm scripts is this venv's
python3 -m pip install -q --upgrade pip

# the package as users get it: building it runs npm (the lab extension) and
# vendors Pyodide (hatch-jupyter-builder, see pyproject.toml)
python3 -m pip install -q ".[test,lint]"

(cd labextension && npm run lint)
ruff check .
ruff format --check .

python3 -m pytest "$@"
