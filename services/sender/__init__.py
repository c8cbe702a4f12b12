"""sender: consumes `email.sends`, calls the ESP once per batch, emits one outcome per recipient.

Many batches are in flight per instance; offsets are committed per partition
only up to the watermark below which every batch has its outcome events
acknowledged and its accounting written to Postgres.
"""
