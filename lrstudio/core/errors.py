"""The base of every error lrstudio shows to a user as a plain message.

Anything raised as a :class:`LrstudioError` (or a subclass) carries a message written for the
user: what is wrong and what is allowed. The CLI prints it without a traceback; the GUI shows it
in a dialog. Any other exception is a bug and is shown with a "details" trace.
"""


class LrstudioError(Exception):
    """An error with a message meant for the user."""


class DataError(LrstudioError, ValueError):
    """A data set cannot be read or used (malformed CSV, bad IDX file, missing column...)."""
