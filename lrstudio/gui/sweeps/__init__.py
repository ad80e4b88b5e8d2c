"""The Sweeps tab (issue 13): create, run and read sweeps; the run queue of the window's Start."""

from lrstudio.gui.sweeps.page import SweepPage
from lrstudio.gui.sweeps.queue import QueueButton, RunQueue

__all__ = ["QueueButton", "RunQueue", "SweepPage"]
