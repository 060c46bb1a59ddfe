"""``python -m pyo2``: see :mod:`pyo2._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
