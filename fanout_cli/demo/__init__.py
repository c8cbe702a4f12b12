"""`fanout demo`: a real campaign through the real local stack."""
