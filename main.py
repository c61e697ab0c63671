"""Start the TeamDash dashboard: ``python main.py [--db URL]`` (same as ``teamdash gui``)."""

import sys

from ui.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
