"""``import pyo2`` imports only what a call needs: the heavy standard modules
(``typing``, ``re``, ``enum``, ``inspect``, ``linecache``, ``threading``…) are
imported when something first uses them, not with the package. A behaviour
test (which modules are loaded), not a timing test; ``python -X importtime``
is what shows their cost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import run_python

#: Not imported by ``import pyo2`` (each costs 0.5 to 9 ms of import time).
HEAVY = [
    "typing",
    "re",
    "enum",
    "inspect",
    "linecache",
    "tokenize",
    "threading",
    "dataclasses",
    "functools",
    "contextlib",
    "pyo2._protocol",
    "pyo2._records",
    "pyo2._stubgen",
]


def loaded_after(code: str) -> set[str]:
    """The modules ``code`` loads, in a fresh interpreter (what was loaded
    before it, by the interpreter and its site setup, doesn't count)."""
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "import json\n"  # after the snapshot: json's own imports don't count
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = run_python(script)
    assert done.returncode == 0, done.stderr
    loaded: set[str] = set(json.loads(done.stdout.splitlines()[-1]))
    return loaded


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="PyPy preloads most of the standard library")
def test_import_pyo2_leaves_the_heavy_modules_out() -> None:
    loaded = loaded_after("import pyo2")
    assert "pyo2._dll" in loaded  # the snapshot sees what the import brings
    baseline = loaded_after("pass")
    assert not (set(HEAVY) - baseline) & loaded, sorted((set(HEAVY) - baseline) & loaded)


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="PyPy preloads most of the standard library")
def test_a_call_still_works_and_imports_what_it_uses(fixture_path: Path) -> None:
    """The deferred imports happen when needed: a declared and an exported
    call, ``pyo2.RustFunction`` (a ``typing.Protocol``) and a traceback
    showing the generated line (``linecache``) all work in a fresh
    interpreter."""
    code = (
        "import pyo2, traceback\n"
        f"dll = pyo2.RustDLL({str(fixture_path)!r})\n"
        "assert dll.ex_add_u8(2, 3) == 5\n"
        "assert isinstance(dll.ex_add_u8, pyo2.RustFunction)\n"
        "assert pyo2.RustFunction.__module__ == 'pyo2'\n"
        "try:\n"
        "    dll.ex_add_u8(300, 1)\n"
        "except (OverflowError, TypeError, ValueError) as e:\n"
        "    shown = ''.join(traceback.format_exception(type(e), e, e.__traceback__))\n"
        "    assert '<pyo2 ' in shown, shown\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    loaded = loaded_after(code)
    # (linecache itself: imported by traceback on 3.9-3.12, and on 3.13 only
    # when a frame's line is read; the '<pyo2 ' assertion above covers it.)
    assert {"typing", "pyo2._protocol"} <= loaded
