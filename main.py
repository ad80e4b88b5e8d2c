"""Open the lrstudio desktop app: ``python main.py`` (same as ``lrstudio`` with no arguments)."""

import sys

from lrstudio.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
