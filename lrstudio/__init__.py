"""lrstudio: a native desktop lab for learning rates."""

__version__ = "0.1.0"
__all__ = ["__version__"]
