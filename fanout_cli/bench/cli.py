"""`fanout bench`: the full run of docs/benchmarks.md, or one measurement on its own.

Without a subcommand it brings the stack up and runs everything (`make bench`);
`fanout bench e2e` times one campaign on the running stack; `sink`, `decode`, `queries`,
`campaign-list`, `import` and `conditions` time one component in isolation (see
`isolated.py`);
`templates` and `launch-check` measure the template render budget (`templates.py`);
`providers` what a batch of 50 costs through each send adapter (`providers.py`);
`scale` the shared ESP budget across senders and a kill -9 under load (`scale.py`);
throughput against instances (`sweep.py`): `scale-sweep` of senders (`sender_sweep.py`),
`webhook-flood` of webhook_ingest (`webhook_flood.py`), `resolvers` of lead_resolver on
concurrent campaigns (`resolvers.py`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console

from fanout_cli.bench import isolated, providers, templates
from fanout_cli.output import console, err, fail, say, table
from fanout_cli.stack.errors import StackError
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

if TYPE_CHECKING:
    from fanout_cli.bench.sweep import SweepPlan, SweepResult

T = TypeVar("T")
P = TypeVar("P", bound="SweepPlan")
bench_app = typer.Typer(
    help="Benchmarks (docs/benchmarks.md): the full run, or one measurement.",
    invoke_without_command=True,
)
bench_app.command("sink")(isolated.sink)
bench_app.command("decode")(isolated.decode)
bench_app.command("queries")(isolated.queries)
bench_app.command("campaign-list")(isolated.campaign_list)
bench_app.command("import")(isolated.lead_import)
bench_app.command("conditions")(isolated.conditions)
bench_app.command("templates")(templates.templates)
bench_app.command("launch-check")(templates.launch_check)
bench_app.command("providers")(providers.providers)


@bench_app.callback()
def full_run(
    ctx: typer.Context,
    leads: Annotated[
        int, typer.Option(help="N: end-to-end campaign size (N/10 is run too, for memory).")
    ] = 1_000_000,
    latency_ms: Annotated[float, typer.Option(help="Realistic ESP latency per call.")] = 150.0,
    ingest_emails: Annotated[
        int, typer.Option(help="Classic vs Fanout growth (default 10M for N ≥ 1M, else N).")
    ] = 0,
    ingest_producers: Annotated[
        int,
        typer.Option(
            min=1, help="Producer processes that fill the topic before each slice is drained."
        ),
    ] = 2,
    ingest_slices: Annotated[
        int, typer.Option(min=1, help="Slices the growth is measured in (each one a row).")
    ] = 10,
    skip_ingest: Annotated[bool, typer.Option(help="Only the end-to-end runs.")] = False,
    latency_run: Annotated[
        bool, typer.Option(help="Also the N-lead run with the realistic ESP latency.")
    ] = True,
    report_samples: Annotated[
        int, typer.Option(min=1, help="Reports API latency: samples of each query.")
    ] = 50,
    out: Annotated[Path, typer.Option(help="Where results are written.")] = Path("bench/results"),
) -> None:
    """Benchmark Fanout end to end and against the classic per-email table (docs/benchmarks.md).

    Without a subcommand: brings the stack up, runs campaigns of N/10 and N leads (no ESP
    latency) and N leads with a realistic latency (unless --no-latency-run), then grows a
    classic per-email Postgres table and Fanout's event log by the same workload slice by
    slice, with report queries during the writes: Fanout's slices at the sink's limit
    (report_sink stopped while producer processes fill the topic, then timed from the
    first event visible to the last) and then paced at 15,000 events/s. Writes JSON, a
    Markdown table and PNG charts to --out.
    """
    if ctx.invoked_subcommand is not None:
        return
    from fanout_cli.bench.render import write_all
    from fanout_cli.bench.run import BenchPlan, run_bench

    plan = BenchPlan(
        leads=leads,
        latency_ms=latency_ms,
        ingest_emails=ingest_emails,
        report_samples=report_samples,
        ingest_producers=ingest_producers,
        ingest_slices=ingest_slices,
        skip_ingest=skip_ingest,
        latency_run=latency_run,
    )
    try:
        results = run_bench(CommonSettings(), plan, say)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    for path in write_all(results, out):
        say(f"wrote {path}")
    print_cpu_per_email([asdict(run) for run in results.e2e], console)
    if not all(run.every_lead_has_outcome for run in results.e2e):
        raise fail("a benchmark campaign ended without an outcome for every lead")
    console.print("[bold green]benchmark finished[/]")


@bench_app.command("e2e")
def end_to_end(
    leads: Annotated[int, typer.Option(help="Campaign size.")] = 200_000,
    latency_ms: Annotated[float, typer.Option(help="ESP latency per call.")] = 0.0,
    tune: Annotated[
        bool,
        typer.Option(help="Restart sender and resolver with the benchmark's throughput settings."),
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Also append the JSON result as one line to this file.")
    ] = None,
) -> None:
    """One campaign of N leads through the running stack, timed per stage; prints JSON.

    The services are reached on their ports (`FANOUT_<SERVICE>_PORT`) and sampled under
    FANOUT_HOME, so a second stack on other ports can be measured the same way.
    """
    from fanout_cli.bench.e2e import run_e2e
    from fanout_cli.bench.machine import machine_facts
    from fanout_cli.bench.tuning import tuned_for_throughput

    common = CommonSettings()
    machine = machine_facts()
    tuning: AbstractContextManager[None] = (
        tuned_for_throughput(common, say) if tune else nullcontext()
    )
    try:
        with tuning:
            result = asyncio.run(run_e2e(common, leads, latency_ms))
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    except httpx.TransportError as exc:
        raise fail(
            f"the stack is not answering ({exc!r}); start it with `fanout stack up`"
        ) from None
    line = json.dumps({"machine": machine, **asdict(result)}, default=str)
    typer.echo(line)
    print_cpu_per_email([asdict(result)], err)  # stdout keeps the one JSON line
    if out is not None:
        with out.open("a") as target:
            target.write(line + "\n")
    if not result.every_lead_has_outcome:
        raise fail("the campaign ended without an outcome for every lead")


@bench_app.command("scale")
def scale(
    senders: Annotated[int, typer.Option(min=2, help="Sender instances sharing the budget.")] = 3,
    rate: Annotated[float, typer.Option(min=1, help="R: the simulator's limit, emails/s.")] = 200.0,
    leads: Annotated[int, typer.Option(min=1000, help="Campaign size.")] = 12_000,
    latency_ms: Annotated[float, typer.Option(help="Simulator latency per call.")] = 50.0,
    max_in_flight: Annotated[
        int | None, typer.Option(min=1, help="FANOUT_SENDER_MAX_IN_FLIGHT of every sender.")
    ] = None,
    session_timeout_ms: Annotated[
        int | None,
        typer.Option(min=6000, help="FANOUT_SENDER_SESSION_TIMEOUT_MS of every sender."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also append the JSON result here.")] = None,
) -> None:
    """The shared ESP budget: N senders against a simulator enforcing R (docs/operations.md).

    Runs on the stack FANOUT_HOME and the FANOUT_* ports point at (give it one of its own:
    it restarts, kills and adds sender instances). Prints the combined send rate against
    R, the share of throttled calls (target ≤ 1 %), the time the group takes to give
    every partition to a live instance after one is killed and after one joins, and
    whether every lead ended with one outcome, duplicates within the bound.
    """
    from fanout_cli.bench.machine import machine_facts
    from fanout_cli.bench.scale import ScalePlan, run_scale

    common = CommonSettings()
    machine = machine_facts()
    plan = ScalePlan(senders, rate, leads, latency_ms, max_in_flight, session_timeout_ms)
    result = _restoring(common, "sender", run_scale(common, plan, say))
    verdict = result.rebalance
    rows = [
        ["R (simulator limit)", f"{rate:,.0f} emails/s"],
        ["combined, before the kill", f"{result.sent_per_s_before_kill:,.1f} emails/s"],
        ["combined, whole campaign", f"{result.sent_per_s_overall:,.1f} emails/s"],
        [
            "throttled calls",
            f"{result.throttled_calls} of {result.calls} ({result.throttled_share:.2%})",
        ],
        ["re-split after kill -9", f"{result.resplit_after_kill_s} s"],
        ["re-split after a join", f"{result.resplit_after_join_s} s"],
        ["outcomes (reports)", json.dumps(verdict.get("outcomes"))],
        ["duplicates / bound", f"{verdict.get('duplicates')} / {verdict.get('bound')}"],
        ["one outcome per lead", "yes" if verdict.get("passed") else "; ".join(verdict["reasons"])],
    ]
    console.print(table(f"{senders} senders sharing R", ["", ""], rows))
    if out is not None:
        with out.open("a") as target:
            record = {"machine": machine, "plan": asdict(plan), **asdict(result)}
            target.write(json.dumps(record, default=str) + "\n")
    if not verdict.get("passed"):
        raise fail("the campaign did not end with one outcome per lead within the bound")
    if result.throttled_share > 0.01:
        raise fail("more than 1 % of the calls were throttled")


@bench_app.command("scale-sweep")
def scale_sweep(
    instances: Annotated[
        str, typer.Option(help="Sender instance counts, comma-separated.")
    ] = "1,2,3",
    rounds: Annotated[int, typer.Option(min=1, help="Runs of every count (median).")] = 3,
    leads: Annotated[int, typer.Option(min=1000, help="Campaign size of every run.")] = 12_000,
    latency_ms: Annotated[float, typer.Option(min=1, help="Simulator latency per call.")] = 500.0,
    max_in_flight: Annotated[
        int, typer.Option(min=1, help="FANOUT_SENDER_MAX_IN_FLIGHT of every sender.")
    ] = 2,
    out: Annotated[Path, typer.Option(help="Where the JSON and the chart go.")] = Path(
        "bench/results"
    ),
) -> None:
    """Throughput of one campaign with 1, 2, 3 … senders, bound by the ESP's latency.

    Every sender runs with no rate budget and a fixed number of batches in flight, the
    simulator answers after --latency-ms with no rate limit: one instance sends at most
    max_in_flight × 50 emails per latency, whatever the machine's cores. Runs on the stack
    FANOUT_HOME and the FANOUT_* ports point at (give it one of its own: it restarts the
    senders). Prints emails/s per count and the ratio to the fewest (target ≥ 2.5× at 3);
    writes `<stamp>-scale-sweep.json` and `.png` (throughput against instances) to --out.
    """
    from fanout_cli.bench.sender_sweep import SenderSweepPlan, run_sender_sweep

    plan = SenderSweepPlan(_counts(instances), rounds, leads, latency_ms, max_in_flight)
    _sweep(plan, "sender", run_sender_sweep, out)


@bench_app.command("webhook-flood")
def webhook_flood(
    instances: Annotated[
        str, typer.Option(help="webhook_ingest instance counts, comma-separated.")
    ] = "1,2,3",
    rounds: Annotated[int, typer.Option(min=1, help="Runs of every count (median).")] = 3,
    events: Annotated[int, typer.Option(min=1, help="Webhook events posted per run.")] = 24_000,
    events_per_post: Annotated[
        int, typer.Option(min=1, max=1000, help="E: events in each signed post.")
    ] = 50,
    in_flight: Annotated[
        int, typer.Option(min=1, help="C: posts in flight per instance (a load balancer's).")
    ] = 4,
    linger_ms: Annotated[
        int,
        typer.Option(
            min=1, max=1000, help="L: FANOUT_WEBHOOK_INGEST_KAFKA_LINGER_MS of every instance."
        ),
    ] = 500,
    out: Annotated[Path, typer.Option(help="Where the JSON and the chart go.")] = Path(
        "bench/results"
    ),
) -> None:
    """Accepted webhook events/s with 1, 2, 3 … webhook_ingest instances under a flood.

    Signed webhooks in the simulator's dialect (verified by webhook_ingest like the
    simulator's own), E events each, posted round-robin to the instances' ports (instance
    k on P + 10·(k − 1); in production a load balancer spreads them) with C posts in flight
    per instance; every instance holds a request's events L ms before sending them to
    Kafka and answers once Kafka acknowledged them, so one accepts at most C × E events
    per L whatever the cores. Runs on the stack FANOUT_HOME and the FANOUT_* ports point
    at (give it one of its own: it restarts webhook_ingest). Checks that every posted event
    is on email.events and each instance took its share; writes
    `<stamp>-webhook-flood.json` and `.png` to --out.
    """
    from fanout_cli.bench.webhook_flood import FloodPlan, run_flood

    counts = _counts(instances)
    plan = FloodPlan(counts, rounds, events, events_per_post, in_flight, linger_ms)
    _sweep(plan, "webhook_ingest", run_flood, out)


@bench_app.command("resolvers")
def resolvers(
    instances: Annotated[
        str, typer.Option(help="lead_resolver instance counts, comma-separated.")
    ] = "1,2",
    rounds: Annotated[int, typer.Option(min=1, help="Runs of every count (median).")] = 3,
    campaigns: Annotated[int, typer.Option(min=1, help="K: campaigns launched together.")] = 4,
    leads: Annotated[int, typer.Option(min=1, help="N: leads of every campaign.")] = 5_000,
    out: Annotated[Path, typer.Option(help="Where the JSON and the chart go.")] = Path(
        "bench/results"
    ),
) -> None:
    """K concurrent campaigns of N leads resolved by 1, 2 … lead_resolver instances.

    Each run restarts the resolvers, makes K campaigns spread evenly over the partitions
    the instances own, launches them together and follows them to `completed`. Prints
    leads resolved onto email.sends per second per count and the ratio to the fewest;
    checks that each instance resolved its campaigns, every lead is in exactly one batch
    on email.sends and every campaign ends with one outcome per lead (row, reports,
    simulator). Runs on the stack FANOUT_HOME and the FANOUT_* ports point at (give it one
    of its own: it restarts lead_resolver); writes `<stamp>-resolvers.json` and `.png`.
    """
    from fanout_cli.bench.resolvers import ResolversPlan, run_resolvers

    plan = ResolversPlan(_counts(instances), rounds, campaigns, leads)
    _sweep(plan, "lead_resolver", run_resolvers, out)


def _counts(text: str) -> tuple[int, ...]:
    from fanout_cli.bench.sweep import parse_counts

    try:
        return parse_counts(text)
    except ValueError:
        raise fail(f"--instances: comma-separated counts of 1 or more, not {text!r}") from None


def _sweep(
    plan: P,
    module: str,
    run: Callable[
        [CommonSettings, P, SweepResult, Callable[[str], None]], Coroutine[Any, Any, Any]
    ],
    out: Path,
) -> None:
    """Run a sweep of `module`'s instances; write what it measured (even when it stopped
    early), print the table, and fail if a step's reconciliation did not pass."""
    from fanout_cli.bench.machine import machine_facts
    from fanout_cli.bench.sweep import (
        new_result,
        sweep_header,
        sweep_rows,
        unreconciled,
        write_sweep,
    )

    common = CommonSettings()
    result = new_result(plan, machine_facts())
    try:
        _restoring(common, module, run(common, plan, result, say))
    finally:
        result.load_average_at_end = os.getloadavg()
        for path in write_sweep(result, out) if result.steps else []:
            say(f"wrote {path}")
    title = f"Throughput against {result.measure.instance} instances"
    console.print(table(title, sweep_header(result), sweep_rows(result)))
    failed = unreconciled(result)
    if failed:
        raise fail("reconciliation failed: " + "; ".join(failed))


def print_cpu_per_email(runs: list[dict[str, Any]], to: Console) -> None:
    """The tables the next performance round starts from: CPU µs per email per process
    with the machine's speed beside it, and the broker's bytes and requests per topic."""
    from fanout_cli.bench.render import broker_per_topic, cpu_per_email, jit_line, reference_line

    header, rows = cpu_per_email(runs)
    to.print(table("CPU µs per email", header, rows))
    if (line := jit_line(runs)) is not None:
        to.print(line, markup=False, highlight=False)
    if (line := reference_line(runs)) is not None:
        to.print(line, markup=False, highlight=False)
    for run in runs:
        topics = broker_per_topic(run)
        if topics is not None:
            title = f"Kafka broker per topic, {run['leads']:,} @ {run['latency_ms']:.0f} ms"
            to.print(table(title, *topics))


def _restoring(common: CommonSettings, module: str, work: Coroutine[Any, Any, T]) -> T:
    """Run a benchmark that restarts, kills and adds instances of `module`; one instance
    with the stack's own settings afterwards, whatever happened."""
    from fanout_cli.bench.group import restore

    try:
        return asyncio.run(work)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    except httpx.TransportError as exc:
        raise fail(f"the stack is not answering ({exc!r}); start it first") from None
    finally:
        restore(common, module, say)
