"""``python -m teamdash.cli``: the core command line (no ``gui``)."""

import sys

from teamdash.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
