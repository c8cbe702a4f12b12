"""Throughput against instances: what every instance sweep of `fanout bench` shares.

A sweep measures one stage with 1, 2, 3 … instances, in rounds (1, 2, 3, then again),
so a slow patch of the shared machine lands on one round of every count rather than on
every repeat of one count. Each step gives a rate (from its timeline of items counted)
and the steady rate between 10 % and 90 % of its items; the sweep gives the median per
count, its ratio to the fewest instances, the ceiling the plan allows (if it has one),
a JSON file and a chart of throughput against instances. The stages measured this way:
the sender (`sender_sweep.py`, `scale-sweep`), webhook_ingest (`webhook_flood.py`,
`webhook-flood`) and lead_resolver (`resolvers.py`, `resolvers`).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

Say = Callable[[str], None]
Timeline = list[tuple[float, int]]  # (seconds since the step started, items counted)
TIMELINE_EVERY_S = 0.5  # the timeline a step keeps in the JSON: a point every half second


class SweepPlan(Protocol):
    """What every sweep's plan says: the counts, the rounds, and the most a count allows."""

    __dataclass_fields__: ClassVar[dict[str, Any]]  # a dataclass: its fields go to the JSON

    @property
    def instances(self) -> tuple[int, ...]: ...

    @property
    def rounds(self) -> int: ...

    def ceiling_per_s(self, instances: int) -> float | None:
        """Most items/s `instances` instances can handle by the plan (None: no such bound)."""
        ...

    def measure(self) -> Measure:
        """What the sweep counts, and the words of its table and chart."""
        ...


@dataclass(frozen=True)
class Measure:
    """What a sweep counts and the words of its table and chart."""

    benchmark: str  # the JSON's "benchmark" and the files' suffix: `<stamp>-<benchmark>.json`
    noun: str  # "emails": figures in emails/s, JSON keys `median_emails_per_s`
    instance: str  # "sender": "sender instances"
    counted: str  # what the rate counts, for the chart's y axis
    title: str  # the chart's title
    ceiling: str = ""  # the ceiling's legend
    target_at_3: float | None = None  # the ratio three instances should reach


@dataclass
class SweepStep:
    """One run with `instances` instances."""

    instances: int
    round: int
    per_s: float  # from the first item counted to the last
    seconds: float
    steady_per_s: float = 0.0  # between 10 % and 90 % of the items
    timeline: Timeline = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # the benchmark's own (reconciliation)

    def as_dict(self, noun: str) -> dict[str, Any]:
        figures = {
            "instances": self.instances,
            "round": self.round,
            f"{noun}_per_s": self.per_s,
            "seconds": self.seconds,
            f"steady_{noun}_per_s": self.steady_per_s,
            "timeline": self.timeline,
        }
        return {**figures, **self.facts}


@dataclass
class SweepResult:
    """Every step of a sweep, the machine it ran on and its load at the start and the end."""

    plan: SweepPlan
    machine: dict[str, Any]
    started_at: str
    steps: list[SweepStep] = field(default_factory=list)
    load_average_at_end: tuple[float, float, float] | None = None

    @property
    def measure(self) -> Measure:
        return self.plan.measure()

    def medians(self, steady: bool = False) -> dict[int, float]:
        """Median items/s per instance count (whole runs, or their steady middle)."""
        return {
            n: statistics.median(
                s.steady_per_s if steady else s.per_s for s in self.steps if s.instances == n
            )
            for n in self.plan.instances
            if any(s.instances == n for s in self.steps)
        }

    def ratios(self, steady: bool = False) -> dict[int, float]:
        """Each count's median over the median of the fewest instances."""
        medians = self.medians(steady)
        base = medians.get(min(self.plan.instances), 0.0)
        return {n: (m / base if base else 0.0) for n, m in medians.items()}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the plan, the machine, every step, medians, ratios and ceilings."""
        noun, target = self.measure.noun, self.measure.target_at_3
        data: dict[str, Any] = {
            "benchmark": self.measure.benchmark,
            "started_at": self.started_at,
            "machine": self.machine,
            "load_average_at_end": self.load_average_at_end,
            "plan": asdict(self.plan),
            "steps": [s.as_dict(noun) for s in self.steps],
            f"median_{noun}_per_s": self.medians(),
            "ratio_to_fewest": self.ratios(),
            f"median_steady_{noun}_per_s": self.medians(steady=True),
            "steady_ratio_to_fewest": self.ratios(steady=True),
        }
        ceilings = {n: self.plan.ceiling_per_s(n) for n in self.plan.instances}
        if None not in ceilings.values():
            data[f"ceiling_{noun}_per_s"] = ceilings
        if target is not None:
            data["target_ratio_at_3"] = target
        return data


def new_result(plan: SweepPlan, machine: dict[str, Any]) -> SweepResult:
    """An empty sweep started now."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return SweepResult(plan, machine, started)


async def sweep_rounds(
    result: SweepResult, step: Callable[[int, int], Awaitable[SweepStep]], say: Say
) -> SweepResult:
    """Every round of the plan: `step(instances, round)` for each count in turn, appended
    to `result` as it finishes."""
    noun, instance = result.measure.noun, result.measure.instance
    for round_ in range(1, result.plan.rounds + 1):
        for instances in result.plan.instances:
            done = await step(instances, round_)
            say(f"round {round_}, {instances} {instance}(s): {done.per_s:,.1f} {noun}/s")
            result.steps.append(done)
    return result


def thin(timeline: Timeline, every_s: float = TIMELINE_EVERY_S) -> Timeline:
    """The first point, one every `every_s`, and the last: what the JSON keeps."""
    kept: Timeline = []
    for point in timeline:
        if not kept or point[0] - kept[-1][0] >= every_s:
            kept.append(point)
    if timeline and kept[-1] != timeline[-1]:
        kept.append(timeline[-1])
    return kept


def unreconciled(result: SweepResult) -> list[str]:
    """The steps whose `reconciliation` (in their facts) did not pass, with its reasons."""
    failed = []
    for step in result.steps:
        check = step.facts.get("reconciliation")
        if check is not None and not check.get("passed"):
            why = check.get("reasons") or {k: v for k, v in check.items() if k != "verdict"}
            failed.append(f"round {step.round}, {step.instances} instance(s): {why}")
    return failed


def parse_counts(text: str) -> tuple[int, ...]:
    """`1,2,3` as sorted distinct instance counts; ValueError for anything else."""
    counts = tuple(sorted({int(n) for n in text.split(",")}))
    if not counts or counts[0] < 1:
        raise ValueError(text)
    return counts


def write_sweep(result: SweepResult, out_dir: Path) -> list[Path]:
    """`<stamp>-<benchmark>.json` and the chart of throughput against instances."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result.started_at.replace(":", "").replace("-", "")
    name = f"{stamp}-{result.measure.benchmark}"
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(result.as_dict(), indent=2, default=str) + "\n")
    return [json_path, chart(result, out_dir / f"{name}.png")]


def chart(result: SweepResult, path: Path) -> Path:
    """Items/s against instances: every step, the medians (whole runs and steady middle),
    linear scaling from the fewest instances' median, and the plan's ceiling if it has one."""
    from fanout_cli.bench.render import pyplot, save_chart

    plan, measure = result.plan, result.measure
    medians, ratios = result.medians(), result.ratios()
    counts = list(medians)
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    ax.scatter(
        [s.instances for s in result.steps],
        [s.per_s for s in result.steps],
        color="grey",
        alpha=0.5,
        label="each run",
    )
    ax.plot(counts, list(medians.values()), "o-", label="median, whole run")
    steady = result.medians(steady=True)
    ax.plot(counts, list(steady.values()), "s-", label="median, 10–90 % of the run")
    fewest = min(counts) if counts else 1
    per_instance = medians.get(fewest, 0.0) / fewest
    ax.plot(counts, [n * per_instance for n in counts], "--", label="linear from the fewest")
    ceilings = [plan.ceiling_per_s(n) for n in counts]
    if counts and None not in ceilings:
        ax.plot(counts, ceilings, ":", label=measure.ceiling or "ceiling")
    for n, value in medians.items():
        ax.annotate(f"{ratios[n]:.2f}×", (n, value), textcoords="offset points", xytext=(6, -12))
    ax.set_xticks(counts)
    ax.set(
        xlabel=f"{measure.instance} instances",
        ylabel=f"{measure.noun}/s ({measure.counted})",
        title=measure.title,
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_chart(fig, path)


def sweep_header(result: SweepResult) -> list[str]:
    """The table's columns (`sweep_rows`)."""
    noun, plan = result.measure.noun, result.plan
    header = [f"{result.measure.instance}s", f"runs ({noun}/s)", "median", "ratio"]
    header += ["10–90 %", "ratio"]
    return header + ([] if plan.ceiling_per_s(min(plan.instances)) is None else ["ceiling"])


def sweep_rows(result: SweepResult) -> list[list[str]]:
    """The table's rows: instances, runs, median items/s and ratio to the fewest (whole
    runs, then their steady middle), and the ceiling when the plan has one."""
    medians, ratios = result.medians(), result.ratios()
    steady, steady_ratios = result.medians(steady=True), result.ratios(steady=True)
    rows = []
    for n in medians:
        ceiling = result.plan.ceiling_per_s(n)
        rows.append(
            [
                str(n),
                ", ".join(f"{s.per_s:,.0f}" for s in result.steps if s.instances == n),
                f"{medians[n]:,.1f}",
                f"{ratios[n]:.2f}×",
                f"{steady[n]:,.1f}",
                f"{steady_ratios[n]:.2f}×",
                *([] if ceiling is None else [f"{ceiling:,.0f}"]),
            ]
        )
    return rows
