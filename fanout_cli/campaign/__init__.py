"""`fanout campaign show|resume`: a campaign's state and why, and resuming it."""
