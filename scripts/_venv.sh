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
    # The tests need the accelerator where it can be built (CPython 3.10+):
    # required, as pip hides the build's output and an optional build that
    # failed would leave a missing or stale pyo2/_accel.abi3.so without a
    # word. Elsewhere pure Python (0). An explicit PYO2_BUILD_ACCELERATOR wins.
    accel=$("$PY" -c 'import sys; print(int(sys.implementation.name == "cpython" and sys.version_info >= (3, 10)))')
    accel=${PYO2_BUILD_ACCELERATOR:-$accel}
else
    # Without setuptools-rust: pure Python, unless an earlier dev install built the accelerator.
    "$PY" -m pip install -q --disable-pip-version-check "setuptools>=77"
    accel=${PYO2_BUILD_ACCELERATOR:-}
fi
PYO2_BUILD_ACCELERATOR=$accel "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation -e ./pyo2-py
