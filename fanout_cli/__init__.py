"""The `fanout` command-line tool: the local stack, accounts, reports, the demo, benchmarks."""
