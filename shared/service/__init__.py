"""How every service process runs: one start-up path, health endpoints, signals, workers.

`startup.run_service` is the whole of `python -m services.<name>`; `serve` runs
the HTTP app beside the workers; `health` has the operations endpoints.
"""

from shared.service.health import ReadinessCheck, health_router, operations_app
from shared.service.serve import Worker, install_stop_signals, serve, tune_gc
from shared.service.startup import Started, run_service

__all__ = [
    "ReadinessCheck",
    "Started",
    "Worker",
    "health_router",
    "install_stop_signals",
    "operations_app",
    "run_service",
    "serve",
    "tune_gc",
]
