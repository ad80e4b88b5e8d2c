"""The GUI's LR range test (issue 12): the Find LR dialog and its worker."""
