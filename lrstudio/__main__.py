"""``python -m lrstudio``: the same entry point as the ``lrstudio`` command."""

from lrstudio.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
