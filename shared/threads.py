"""A process's threads by name, from Linux's /proc (`/proc/<pid>/task/<tid>/comm`).

Used where a service or the benchmark acts on, or measures, the threads a native library
or the JVM names (ClickHouse's merge threads, HotSpot's compiler threads). The kernel keeps
the first 15 characters of a thread's name.
"""

from __future__ import annotations

from pathlib import Path


def threads_named(tasks: Path, prefixes: str | tuple[str, ...]) -> list[Path]:
    """The task folders under `tasks` (a process's `/proc/<pid>/task`) of the threads whose
    name starts with one of `prefixes`; a thread that ends meanwhile is left out. OSError
    if `tasks` cannot be listed (no such process, or no /proc)."""
    named: list[Path] = []
    for task in list(tasks.iterdir()):
        try:
            name = (task / "comm").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        if name.startswith(prefixes):
            named.append(task)
    return named
