"""Headless subcommands of the lrstudio CLI; each module has a register(subparsers)."""
