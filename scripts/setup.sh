#!/usr/bin/env bash
# One-command set-up on a fresh machine: create .venv, install the locked dependencies and
# ragpipe itself, then check that the bundled model and parsers work offline.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "ragpipe needs Python >= 3.11"'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# pip byte-compiles one file at a time; compileall uses every core (~45 s less on 2 cores). The few files
# that only parse under another Python (a py2 module, a 3.12 test helper) fail to compile, as under pip:
# that costs nothing but their .pyc, so compileall's status is not checked.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.lock
SITE_PACKAGES="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
.venv/bin/python -m compileall -q -j 0 "$SITE_PACKAGES" > /dev/null || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
.venv/bin/ragpipe doctor
