"""notifier: tells customers' webhook endpoints what happened to their campaigns and leads."""
