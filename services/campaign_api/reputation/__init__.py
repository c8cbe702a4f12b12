"""An account's reputation settings: the guard's thresholds and warm-up schedules."""
