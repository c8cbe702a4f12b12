"""The consumer strategies: sequential (commands), concurrent (sends), batched (sink inserts)."""
