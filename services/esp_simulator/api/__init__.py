"""The simulator's HTTP API."""
