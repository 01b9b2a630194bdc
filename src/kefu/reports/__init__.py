"""Reports: the supervisor's live board, read from the conversation tables and the
append-only events log."""
