# Sourced by scripts/test: the Python suite on every other interpreter, with
# the same compiled libraries. Each gets a venv (.venv-<impl><version>, made
# once, its tools re-checked every run) and imports pyo2 from the source tree.

# Every CPython 3.9-3.13 under pyenv but the main one, then Debian's PyPy.
other_pythons() {
    local main dir
    main=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    for dir in "$HOME"/.pyenv/versions/3.*; do
        case "$(basename "$dir")" in
            "$main") ;;
            3.9.* | 3.10.* | 3.11.* | 3.12.* | 3.13.*) echo "$dir/bin/python3" ;;
        esac
    done
    if ! command -v pypy3 >/dev/null || ! pypy3 -c 'import venv, ensurepip' 2>/dev/null; then
        # Installing needs root (apt): only when asked to, or in CI.
        if [ "${PYO2_INSTALL_PYPY:-}" = 1 ] || { [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ]; }; then
            echo "installing Debian's pypy3 (PYO2_INSTALL_PYPY=1 or CI)" >&2
            (apt-get install -y -qq pypy3 pypy3-venv >/dev/null 2>&1 \
                || (apt-get update -qq && apt-get install -y -qq pypy3 pypy3-venv)) >&2
            command -v pypy3 >/dev/null || { echo "pypy3 is missing and could not be installed" >&2; return 1; }
        else
            echo "note: no PyPy (pypy3 with venv) found, so the suite does not run on PyPy;" \
                "install Debian's pypy3 and pypy3-venv, or run with PYO2_INSTALL_PYPY=1 as root" >&2
            return 0
        fi
    fi
    command -v pypy3
}

# cpython3.12, pypy3.9, ...: the interpreter's name in its venv's and its log's.
python_name() {
    "$1" -c 'import platform, sys; print(platform.python_implementation().lower() + "%d.%d" % sys.version_info[:2])'
}

# The suite on another interpreter, from the source tree: with the compiled
# accelerator (pyo2-py/src/pyo2/_accel.abi3.so, built by the dev install)
# where it loads (CPython 3.10+), then pure Python (PYO2_PURE=1).
suite_on() {
    local python=$1 venv status=0
    venv="$PWD/.venv-$(python_name "$python")"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements-compat.txt
    if "$venv/bin/python" -c 'import sys; sys.exit(not (sys.implementation.name == "cpython" and sys.version_info >= (3, 10)))'; then
        PYTHONPATH="$PWD/pyo2-py/src" HYPOTHESIS_PROFILE=fast step \
            "$venv/bin/python" -m pytest tests/python -q -p no:cacheprovider --durations=5 -m "not main_only" || status=$?
    fi
    PYO2_PURE=1 PYTHONPATH="$PWD/pyo2-py/src" HYPOTHESIS_PROFILE=fast step \
        "$venv/bin/python" -m pytest tests/python -q -p no:cacheprovider --durations=5 -m "not main_only" || status=$?
    return "$status"
}
