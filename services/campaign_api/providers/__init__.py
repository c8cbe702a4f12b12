"""Accounts' provider configurations: validated, sealed and stored here; read by the sender."""
