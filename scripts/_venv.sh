# Sourced by the scripts: make (or refresh) the repo's virtual environment in
# .venv and install pyo2-py into it, with the test tools when asked.
# Usage: . scripts/_venv.sh [dev]
PYTHON=${PYTHON:-python3}
VENV="$PWD/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if [ "${1:-}" = dev ]; then
    "$PY" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
else
    "$PY" -m pip install -q --disable-pip-version-check "setuptools>=69"
fi
"$PY" -m pip install -q --disable-pip-version-check --no-build-isolation -e ./pyo2-py
