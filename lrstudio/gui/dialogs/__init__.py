"""Dialogs shared by the whole GUI: the one error dialog (:mod:`.errors`) and the export dialogs
(:mod:`.export`)."""
