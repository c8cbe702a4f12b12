"""Every benchmark of Fanout, behind one command: `fanout bench` (docs/benchmarks.md).

- `cli.py`: the command; without a subcommand the full run (`run.py`: `e2e.py`,
  `classic.py` against `ingest.py`, the reports API's latency; `render.py` writes the
  results to `bench/results/`); `fanout bench e2e`: one campaign on the running stack.
- `isolated.py`: one component at a time, no stack services needed: `sink` and
  `decode` (`sink.py`), `queries` (`report_queries.py`), `import` (`lead_import.py`),
  `conditions` (`conditions.py`); Postgres ones in a `scratch.py` database.
- `sampler.py`, `stats.py`, `machine.py`, `tuning.py`: what the runs share.
- `isolated_stack.sh`: a private copy of the services on other ports, for measurements
  that other people's restarts cannot disturb.

Figures are never asserted by tests (they depend on the machine's load); the test suite
checks that the full run completes with every lead accounted for, and that each isolated
benchmark runs on a small input.
"""
