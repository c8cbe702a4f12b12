"""Keeps the embedded engine's resident memory small (docs/reports.md, "Memory").

Two things make an embedded chDB process large that the engine's own limits do not see:

- **Its code.** chDB is one ~550 MB shared library; loading it runs thousands of static
  initialisers spread over it, and the kernel maps 64 KB around each page touched, so
  about 270 MB of library pages are resident before the first query, most of them never
  used again. `release_engine_code` hands them back once start-up is done: the code
  pages are unmapped (MADV_DONTNEED: they stay in the page cache, and the few in use
  come back on their next touch), the read-only data pages are offered for reclaim
  (MADV_PAGEOUT, which leaves any page the loader wrote alone). Nothing changes but
  the resident set; Linux only, and a no-op (logged) anywhere it is not available.
- **The C allocator.** ClickHouse allocates from its own threads through glibc's
  malloc, which gives each thread an arena of its own (up to 8 per core) and keeps
  freed memory in them: `limit_malloc_arenas` caps their number (M_ARENA_MAX).

The engine's caches, pools and the memory cap are server settings passed when the
engine starts (`engine_options`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

ENGINE_LIBRARY = "_chdb"  # the file name of chDB's library (…/chdb/_chdb.abi3.so)
_MADV_DONTNEED = 4
_MADV_PAGEOUT = 21  # Linux ≥ 5.4
_M_ARENA_MAX = -8


def _libc() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.madvise.restype = ctypes.c_int
    return libc


def release_engine_code(maps: Path = Path("/proc/self/maps")) -> int:
    """Hand back the resident pages of the engine's library; bytes advised (0: nothing)."""
    if not sys.platform.startswith("linux") or not maps.exists():
        return 0
    libc = _libc()
    advised = 0
    for line in maps.read_text().splitlines():
        fields = line.split()
        if len(fields) < 6 or ENGINE_LIBRARY not in Path(fields[5]).name:
            continue
        # r-xp: code, never written: safe to unmap. r--p: read-only data, part of it
        # relocated by the loader (private copies): only offered for reclaim, which
        # leaves those copies alone. Writable mappings are never touched.
        advice = {"r-xp": _MADV_DONTNEED, "r--p": _MADV_PAGEOUT}.get(fields[1])
        if advice is None:
            continue
        low, high = (int(address, 16) for address in fields[0].split("-"))
        if libc.madvise(low, high - low, advice) == 0:
            advised += high - low
    log.info("memory.engine_code_released", mb=advised >> 20)
    return advised


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas (call before the engine starts its threads); False if
    the C library is not glibc."""
    try:
        mallopt = _libc().mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
