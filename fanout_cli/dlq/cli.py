"""`fanout dlq list|show|replay|drop`: dead-letter topics for operators, with rich output.

A message is named by its place in the dead-letter topic, `PARTITION:OFFSET` (or just
`OFFSET` for partition 0, the only one of the topics Fanout creates). TOPIC is the
topic's broker name or any shorter form of it (`email.sends`, `email.sends.dlq`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from aiokafka.errors import KafkaError
from rich.markup import escape
from rich.panel import Panel

from fanout_cli.dlq import reading
from fanout_cli.dlq.reading import Letter, Position, UnknownTopic
from fanout_cli.dlq.replay import NotReplayable, drop, replay
from fanout_cli.output import console, fail, table
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

dlq_app = typer.Typer(help="Dead-letter topics: count, read, replay to the source, drop.")
T = TypeVar("T")
TopicArg = Annotated[str, typer.Argument(help="Dead-letter topic (e.g. email.sends.dlq).")]
AtOption = Annotated[
    list[str] | None,
    typer.Option("--at", help="A message as PARTITION:OFFSET or OFFSET (repeatable)."),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
EVERYTHING = 10_000_000  # `--all`: the whole topic
SAMPLE = 500  # messages `list` reads per topic for its reasons


def _run(work: Callable[[CommonSettings], Coroutine[Any, Any, T]]) -> T:
    """Run one broker conversation; expected failures become one clear line and exit 1."""
    try:
        return asyncio.run(work(CommonSettings()))
    except (DependencyUnavailable, UnknownTopic, NotReplayable, ValueError) as exc:
        raise fail(str(exc)) from None
    except KafkaError as exc:
        raise fail(f"the broker refused: {exc!r}") from None


def positions(values: list[str]) -> set[Position]:
    """`--at` values as (partition, offset)."""
    found: set[Position] = set()
    for value in values:
        partition, _, offset = value.rpartition(":")
        if not offset.isdigit() or not (partition or "0").isdigit():
            raise typer.BadParameter(
                f"{value!r} is not PARTITION:OFFSET or OFFSET", param_hint="--at"
            )
        found.add((int(partition or 0), int(offset)))
    return found


@dlq_app.command("list")
def list_topics() -> None:
    """Every dead-letter topic of this deployment: how many messages it holds, and the most
    frequent errors among its oldest messages."""
    rows = [
        [topic, f"{n:,}", "\n".join(f"{n}× {reason}" for reason, n in reasons)]
        for topic, (n, reasons) in _run(_summaries).items()
    ]
    console.print(table("dead-letter topics", ["topic", "messages", "reasons"], rows))


async def _summaries(common: CommonSettings) -> dict[str, tuple[int, list[tuple[str, int]]]]:
    counts = await reading.count_messages(common, await reading.dead_letter_topics(common))
    return {
        topic: (n, reading.top_reasons(await reading.read_letters(common, topic, SAMPLE)))
        for topic, n in counts.items()
    }


@dlq_app.command("show")
def show(
    topic: TopicArg,
    at: AtOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many messages.")] = 20,
) -> None:
    """The messages of a dead-letter topic from its oldest: key, headers, where each came
    from (topic, partition, offset, consumer group), the error, and the payload."""
    wanted = positions(at) if at else None
    letters = _run(lambda common: _read(common, topic, limit, wanted))
    for item in letters:
        console.print(_panel(item))
    console.print(f"{len(letters)} message(s)")


async def _read(
    common: CommonSettings, topic: str, limit: int, wanted: set[Position] | None
) -> list[Letter]:
    name = await reading.resolve_topic(common, topic)
    letters = await reading.read_letters(common, name, limit, wanted)
    missing = sorted((wanted or set()) - {x.position for x in letters})
    if missing:
        listed = ", ".join(f"{p}:{o}" for p, o in missing)
        raise ValueError(f"{name} has no message at {listed}")
    return letters


def _panel(item: Letter) -> Panel:
    headers = ", ".join(f"{k}={v.decode(errors='replace')}" for k, v in item.headers) or "-"
    key = item.key.decode(errors="replace") if item.key is not None else "-"
    lines = [f"[bold]key[/] {escape(key)}", f"[bold]headers[/] {escape(headers)}"]
    if item.letter is None:
        lines.append("[yellow]not a Fanout dead letter[/]")
        lines.append(escape(item.raw.decode(errors="replace")))
    else:
        letter = item.letter
        lines += [
            f"[bold]origin[/] {letter.source_topic} partition {letter.partition} "
            f"offset {letter.offset}",
            f"[bold]group[/] {letter.consumer_group}   [bold]failed at[/] {letter.failed_at}",
            f"[bold red]error[/] {escape(letter.error)}",
            f"[bold]payload[/] {escape(letter.value)}",
        ]
    return Panel("\n".join(lines), title=f"{item.partition}:{item.offset}", title_align="left")


@dlq_app.command("replay")
def replay_command(
    topic: TopicArg,
    at: AtOption = None,
    every: Annotated[bool, typer.Option("--all", help="Every message of the topic.")] = False,
    yes: YesOption = False,
) -> None:
    """Send dead letters back to their source topic with their original key (consumers are
    idempotent, so a replay is safe); the dead letters stay until `fanout dlq drop`."""
    if bool(at) == every:
        raise fail("say which messages: --at PARTITION:OFFSET (repeatable) or --all")
    wanted = positions(at) if at else None
    letters = _run(lambda common: _read(common, topic, EVERYTHING, wanted))
    if not letters:
        console.print("nothing to replay")
        return
    if not yes and not typer.confirm(f"Replay {len(letters)} message(s) to their source topic?"):
        raise typer.Exit(1)
    sent = _run(lambda common: _replay(common, topic, letters))
    console.print(f"[bold green]replayed {sent} message(s)[/]")


async def _replay(common: CommonSettings, topic: str, letters: list[Letter]) -> int:
    return await replay(common, await reading.resolve_topic(common, topic), letters)


@dlq_app.command("drop")
def drop_command(topic: TopicArg, yes: YesOption = False) -> None:
    """Delete every message a dead-letter topic holds now (after replaying what matters)."""
    if not yes and not typer.confirm(f"Delete every message of {topic}?"):
        raise typer.Exit(1)
    dropped = _run(lambda common: _drop(common, topic))
    console.print(f"[bold]dropped {dropped} message(s)[/]")


async def _drop(common: CommonSettings, topic: str) -> int:
    return await drop(common, await reading.resolve_topic(common, topic))
