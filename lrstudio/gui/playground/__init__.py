"""The optimizer playground tab (issue 16)."""

from lrstudio.gui.playground.page import PlaygroundPage

__all__ = ["PlaygroundPage"]
