"""``python -m rtlib.labs``: see :mod:`rtlib.labs.cli`."""

import sys

from rtlib.labs.cli import main

if __name__ == "__main__":
    sys.exit(main())
