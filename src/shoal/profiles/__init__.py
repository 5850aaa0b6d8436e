"""User and account profiles built from the event log by identity resolution."""
