"""`fanout dlq`: the dead-letter topics (`<topic>.dlq`) read, replayed and emptied by operators."""
