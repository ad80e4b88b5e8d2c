"""The run service: orchestration shared by every front end (see issue 10)."""
