"""Benchmark results as JSON, a Markdown report with ratios, and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fanout_cli.bench.run import BenchResults
from fanout_cli.stack.components import service_named

TARGETS = {
    "e2e_1m_no_latency_s": 60.0,
    "emails_per_s_with_latency": 10_000.0,
    "sink_events_per_s": 200_000.0,
    "report_p95_ms": 100.0,
    "service_rss_mb": 300.0,
}


def write_all(results: BenchResults, out_dir: Path) -> list[Path]:
    """Write `<stamp>.json`, `<stamp>.md` and charts; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = results.started_at.replace(":", "").replace("-", "")
    data = results.as_dict()
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text(markdown(data))
    return [json_path, md_path, *charts(data, out_dir, stamp)]


def _f(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _interpreter(machine: dict[str, Any]) -> str:
    """` (its executable)`, for runs that recorded it (older results did not)."""
    executable = machine.get("python_executable")
    return f" ({executable})" if executable else ""


def markdown(data: dict[str, Any]) -> str:
    """The report: end to end, classic vs Fanout per slice with ratios, report latency."""
    m = data["machine"]
    load = tuple(round(x, 2) for x in m["load_average_at_start"])
    lines = [
        f"# Fanout benchmark, {data['started_at']}",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python "
        f"{m['python']}{_interpreter(m)}, load average at start {load}.",
        "",
        "## End to end",
        "",
        "| leads | ESP latency | matched | import/s | launch→completed | launch→all outcomes "
        "in reports | emails/s | resolve/s | send/s | sink/s | webhooks back | duplicates | "
        "every lead has an outcome |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in data["e2e"]:
        st = run["stages"]
        lines.append(
            f"| {run['leads']:,} | {run['latency_ms']:.0f} ms | {run['matched']:,} | "
            f"{_f(run['import_per_s'])} | {_f(run['completed_s'], 1)} s | "
            f"{_f(run['reported_s'], 1)} s | {_f(run['emails_per_s'])} | "
            f"{_f(st['resolve']['per_s'])} | {_f(st['send']['per_s'])} | "
            f"{_f(st['sink']['per_s'])} | {_f(st['webhooks']['done_s'], 1)} s | "
            f"{run['simulator_duplicates']} | {run['every_lead_has_outcome']} |"
        )
    lines += ["", "CPU seconds and peak RSS (MB) per process during each run:", ""]
    names = sorted({n for run in data["e2e"] for n in run["processes"]})
    lines.append(
        "| process | "
        + " | ".join(f"{r['leads']:,} @ {r['latency_ms']:.0f} ms" for r in data["e2e"])
        + " |"
    )
    lines.append("|---|" + "---:|" * len(data["e2e"]))
    for name in names:
        cells = []
        for run in data["e2e"]:
            p = run["processes"].get(name)
            cells.append("—" if p is None else f"{p['cpu_s']:.1f} s / {p['peak_rss_mb']:.0f} MB")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "CPU µs per email (CPU seconds over matched emails) per process:", ""]
    lines += _markdown_table(*cpu_per_email(data["e2e"]))
    lines += _stored_before(data["e2e"])
    if (line := jit_line(data["e2e"])) is not None:
        lines += ["", line]
    if (line := reference_line(data["e2e"])) is not None:
        lines += ["", line]
    lines += _postgres_detail(data["e2e"])
    lines += _broker_detail(data["e2e"])
    if data.get("classic") and data.get("fanout"):
        lines += _comparison(data)
    if data.get("reports"):
        lines += [
            "",
            "## Reports API latency at the end of the run",
            "",
            "| query | samples | p50 ms | p95 ms | max ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, lat in data["reports"].items():
            lines.append(
                f"| {name} | {lat['count']} | {lat['p50_ms']:.1f} | "
                f"{lat['p95_ms']:.1f} | {lat['max_ms']:.1f} |"
            )
    return "\n".join(lines) + "\n"


# A test double, not part of Fanout's own CPU per email; named as the sampler names its
# process (until 2026-12-04 this read "esp_simulator", the module's name, which matched no
# process: every "all but the simulator" row since 2026-12-02 included the simulator).
SIMULATOR = service_named("esp_simulator").name


def cpu_per_email(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each process's CPU µs per email in each run, Fanout's total
    (every process but the ESP simulator, Postgres and Kafka included) last."""
    header = ["process", *(f"{r['leads']:,} @ {r['latency_ms']:.0f} ms" for r in runs)]
    names = sorted({n for run in runs for n in run["processes"]})
    rows: list[list[str]] = []

    def per_email(run: dict[str, Any], names: list[str]) -> str:
        spent = sum(run["processes"][n]["cpu_s"] for n in names if n in run["processes"])
        return _us_per_email(run, spent)

    for name in names:
        rows.append([name, *(per_email(run, [name]) for run in runs)])
    fanout = [n for n in names if n != SIMULATOR]
    rows.append(["all but the simulator", *(per_email(run, fanout) for run in runs)])
    return header, rows


def _us_per_email(run: dict[str, Any], seconds: float | None) -> str:
    """`seconds` of CPU as µs per email of `run` ("—" without either)."""
    if seconds is None or not run["matched"]:
        return "—"
    return f"{seconds * 1e6 / run['matched']:,.1f}"


def _stored_before(runs: list[dict[str, Any]]) -> list[str]:
    """What ClickHouse held at each launch: report_sink's merges rewrite it, so its CPU
    per email depends on it (docs/benchmarks.md, "Round 20 of issue 17")."""
    stored = [run.get("stored_events_before") for run in runs]
    if all(count is None for count in stored):
        return []
    held = " / ".join("—" if count is None else f"{count:,}" for count in stored)
    return ["", f"Events stored in ClickHouse at each launch, in run order: {held}."]


def reference_line(runs: list[dict[str, Any]]) -> str | None:
    """The machine's speed before and after each run (None: not measured). The same code's
    CPU per email moves with it (docs/benchmarks.md, "Round 25 of issue 17")."""
    measured = [ref for run in runs for ref in (run.get("reference"), run.get("reference_after"))]
    repeats = next((ref["repeats"] for ref in measured if ref is not None), None)
    if repeats is None:
        return None

    def median(ref: dict[str, Any] | None) -> str:
        return "—" if ref is None else f"{ref['median_ms']:.1f}"

    cells = " / ".join(
        f"{median(run.get('reference'))} → {median(run.get('reference_after'))}" for run in runs
    )
    return (
        "Machine reference before → after each run, in run order (one thread's CPU ms for a "
        f"fixed piece of work, `fanout_cli.bench.machine.reference`; medians of {repeats}; "
        f"lower is faster): {cells}."
    )


def jit_line(runs: list[dict[str, Any]]) -> str | None:
    """How much of Kafka's CPU per email was its JIT compiling its own code (None: not
    measured in any run): part of the figure above, not added to it."""
    spent = [(run.get("broker") or {}).get("jit_cpu_s") for run in runs]
    if all(seconds is None for seconds in spent):
        return None

    cells = " / ".join(_us_per_email(run, s) for run, s in zip(runs, spent, strict=True))
    return (
        "Of Kafka's CPU µs per email above, its JIT compiler threads' (a freshly started "
        f"broker compiling its own code, not work per email), in run order: {cells}."
    )


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _postgres_detail(runs: list[dict[str, Any]]) -> list[str]:
    """PostgreSQL's CPU by server process role, and its costliest statements, per run."""
    lines: list[str] = []
    for run in runs:
        title = f"{run['leads']:,} leads @ {run['latency_ms']:.0f} ms"
        matched = run["matched"] or 1
        roles = run.get("postgres_roles") or {}
        if roles:
            lines += ["", f"PostgreSQL CPU by server process, {title}:", ""]
            lines += _markdown_table(
                ["role", "CPU s", "µs per email"],
                [
                    [role, f"{cpu:.2f}", f"{cpu * 1e6 / matched:,.1f}"]
                    for role, cpu in roles.items()
                ],
            )
        statements = run.get("statements") or []
        if statements:
            lines += ["", f"PostgreSQL statements by time (pg_stat_statements), {title}:", ""]
            lines += _markdown_table(
                ["statement", "calls", "total ms", "mean ms", "rows", "WAL kB"],
                [
                    [
                        "`" + st["query"].replace("|", "\\|") + "`",
                        f"{st['calls']:,}",
                        f"{st['total_ms']:,.0f}",
                        f"{st['mean_ms']:.3f}",
                        f"{st['rows']:,}",
                        f"{st['wal_bytes'] / 1024:,.0f}",
                    ]
                    for st in statements
                ],
            )
    return lines


def broker_per_topic(run: dict[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows: each topic's bytes in and out (out over in: how many times each
    byte was fetched, which is its consumer groups unless records are fetched again),
    records, and produce and fetch requests per 1,000 emails; None without figures."""
    broker = run.get("broker") or {}
    if not broker.get("topics"):
        return None
    per_k = 1000 / (run["matched"] or 1)
    header = [
        "topic",
        "MB in",
        "MB out",
        "out / in",
        "records in",
        "produce / 1k emails",
        "fetch / 1k emails",
    ]
    rows = []
    for topic, m in broker["topics"].items():
        bytes_in, bytes_out = m.get("bytes_in", 0), m.get("bytes_out", 0)
        rows.append(
            [
                topic,
                f"{bytes_in / 2**20:,.1f}",
                f"{bytes_out / 2**20:,.1f}",
                f"{bytes_out / bytes_in:.1f}" if bytes_in else "—",
                f"{m.get('records_in', 0):,}",
                f"{m.get('produce_requests', 0) * per_k:,.1f}",
                f"{m.get('fetch_requests', 0) * per_k:,.1f}",
            ]
        )
    return header, rows


def _broker_detail(runs: list[dict[str, Any]]) -> list[str]:
    """The broker's work per run: topics (bytes, records, requests), requests by kind."""
    lines: list[str] = []
    for run in runs:
        title = f"{run['leads']:,} leads @ {run['latency_ms']:.0f} ms"
        broker = run.get("broker") or {}
        if broker.get("unavailable"):
            lines += ["", f"Kafka broker counters, {title}: {broker['unavailable']}."]
            continue
        topics = broker_per_topic(run)
        if topics is None:
            continue
        lines += ["", f"Kafka broker per topic (JMX counters), {title}:", ""]
        lines += _markdown_table(*topics)
        per_k = 1000 / (run["matched"] or 1)
        kinds = ", ".join(
            f"{kind} {count:,} ({count * per_k:,.1f} per 1k emails)"
            for kind, count in broker["requests"].items()
        )
        lines += ["", f"Requests by kind: {kinds}."]
    return lines


def _comparison(data: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Classic per-email table vs Fanout's event path, per slice",
        "",
        "Insert rate (rows or events per second) and report latency (p95 ms) while writing. "
        "Ratio = Fanout / classic for rates, classic / Fanout for latencies (higher is better "
        "for Fanout).",
        "",
        "| slice (rows) | classic rows/s | Fanout events/s (sink's limit) | ratio | "
        "Fanout events/s until all visible | "
        "classic recipients p95 | Fanout recipients p95 | ratio | "
        "classic funnel p95 | Fanout funnel p95 | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c, f in zip(data["classic"]["slices"], data["fanout"]["slices"], strict=False):
        cq, fq = c["queries"], f["queries"]
        lines.append(
            f"| {c['rows_before']:,}–{c['rows_after']:,} | {_f(c['rows_per_s'])} | "
            f"{_f(f['rows_per_s'])} | {_ratio(f['rows_per_s'], c['rows_per_s'])} | "
            f"{_f(f.get('until_all_per_s'))} | "
            f"{cq['recipients']['p95_ms']:.1f} | {fq['recipients']['p95_ms']:.1f} | "
            f"{_ratio(cq['recipients']['p95_ms'], fq['recipients']['p95_ms'])} | "
            f"{cq['funnel']['p95_ms']:.1f} | {fq['funnel']['p95_ms']:.1f} | "
            f"{_ratio(cq['funnel']['p95_ms'], fq['funnel']['p95_ms'])} |"
        )
    fanout = data["fanout"]
    producer = ", ".join(_f(x) for x in fanout["produce_per_s"])
    lines += [
        "",
        "Fanout's rate is the sink's limit: report_sink stopped while "
        f"{fanout.get('producers', 1)} producer processes filled the topic with the slice "
        f"({producer} events/s), then started: the events made visible in ClickHouse "
        "from the first insert seen to the one before the last, over that span. The last "
        "insert is left out: a backlog rarely ends on a whole batch, and the sink inserts a "
        "part-full one only after its oldest event waited `batch_max_seconds`; the time "
        "until every event was visible, that wait included, is the column beside it.",
    ]
    if fanout.get("paced"):
        lines += [
            "",
            f"### Reports while the sink ingests at {fanout['paced_rate']:,.0f} events/s",
            "",
            "| events in store | ingested events/s | recipients p50 | recipients p95 | "
            "funnel p50 | funnel p95 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for p in fanout["paced"]:
            q = p["queries"]
            lines.append(
                f"| {p['rows_before']:,}–{p['rows_after']:,} | {_f(p['rows_per_s'])} | "
                f"{q['recipients']['p50_ms']:.1f} | {q['recipients']['p95_ms']:.1f} | "
                f"{q['funnel']['p50_ms']:.1f} | {q['funnel']['p95_ms']:.1f} |"
            )
    return lines


def _ratio(a: float, b: float) -> str:
    return "—" if not b else f"{a / b:.2f}×"


def pyplot() -> Any:
    """matplotlib's pyplot drawing to files only (no display on a server)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_chart(fig: Any, path: Path) -> Path:
    """Write `fig` as a PNG at `path` and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def charts(data: dict[str, Any], out_dir: Path, stamp: str) -> list[Path]:
    """PNG charts: ingest rate and report p95 per slice; RSS per process per run."""
    plt = pyplot()
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        written.append(save_chart(fig, out_dir / f"{stamp}-{name}.png"))

    if data.get("classic") and data.get("fanout"):
        classic, fanout = data["classic"]["slices"], data["fanout"]["slices"]
        x_c = [s["rows_after"] / 1e6 for s in classic]
        x_f = [s["rows_after"] / 1e6 for s in fanout]
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        axes[0].plot(x_c, [s["rows_per_s"] for s in classic], "o-", label="classic (Postgres)")
        axes[0].plot(
            x_f, [s["rows_per_s"] for s in fanout], "o-", label="Fanout (Kafka→ClickHouse)"
        )
        axes[0].set(
            xlabel="rows / events in store (millions)",
            ylabel="per second",
            title="Write rate per slice",
        )
        for key, style in (("recipients", "-"), ("funnel", "--")):
            axes[1].plot(
                x_c,
                [s["queries"][key]["p95_ms"] for s in classic],
                "o" + style,
                label=f"classic {key}",
            )
            axes[1].plot(
                x_f,
                [s["queries"][key]["p95_ms"] for s in fanout],
                "s" + style,
                label=f"Fanout {key}",
            )
        axes[1].set(
            xlabel="rows / events in store (millions)",
            ylabel="p95 ms",
            title="Report latency while writing",
        )
        for ax in axes:
            ax.grid(alpha=0.3)
            ax.legend()
        save(fig, "ingest")
    if data["e2e"]:
        names = sorted({n for run in data["e2e"] for n in run["processes"]})
        fig, ax = plt.subplots(figsize=(12, 4.5))
        width = 0.8 / len(data["e2e"])
        for i, run in enumerate(data["e2e"]):
            values = [run["processes"].get(n, {}).get("peak_rss_mb", 0) for n in names]
            ax.bar(
                [j + i * width for j in range(len(names))],
                values,
                width,
                label=f"{run['leads']:,} leads @ {run['latency_ms']:.0f} ms",
            )
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))], names, rotation=20)
        ax.axhline(TARGETS["service_rss_mb"], color="red", linestyle=":", label="300 MB target")
        ax.set(ylabel="peak RSS (MB)", title="Peak memory per process: flat as N grows?")
        ax.legend()
        save(fig, "memory")
    return written
