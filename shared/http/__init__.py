"""HTTP pieces every Fanout service shares: problem-details errors and app-state dependencies."""
