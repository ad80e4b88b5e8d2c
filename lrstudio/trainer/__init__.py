"""Everything that imports torch: the training loop, the models, optimizer building, the schedule
adapter and the torch scheduler.

Modules here import torch at module top. Nothing under :mod:`lrstudio.core` imports this package
(an import contract in ``pyproject.toml``); the GUI reaches it only through :mod:`lrstudio.services`,
lazily, so no torch is loaded before the window shows.
"""
