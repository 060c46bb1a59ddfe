"""``python -m pyo2``: see :mod:`pyo2._cli`."""

import sys

from ._cli import main

sys.exit(main())
