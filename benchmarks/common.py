"""Timing and reporting helpers shared by the benchmarks."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    best: float  # seconds
    median: float

    @property
    def ms(self) -> float:
        return self.best * 1000


def measure(fn: Callable[[], object], *, repeat: int = 5, setup: Callable[[], object] | None = None) -> Timing:
    """Best and median wall time of ``fn`` over ``repeat`` runs (``setup`` untimed)."""
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(min(times), statistics.median(times))


def compare(
    name: str, ours: Timing, plain: Timing, *, target_ratio: float | None = None, plain_label: str = "plain"
) -> float:
    ratio = ours.best / plain.best if plain.best else float("inf")
    verdict = ""
    if target_ratio is not None:
        verdict = f"  target <= {target_ratio:g}x: {'OK' if ratio <= target_ratio else 'OVER'}"
    print(f"{name:<52} ours {ours.ms:9.2f} ms   {plain_label} {plain.ms:9.2f} ms   ratio {ratio:5.2f}x{verdict}")
    return ratio


def absolute(name: str, ours: Timing, *, target_ms: float | None = None, note: str = "") -> None:
    verdict = (
        f"  target <= {target_ms:g} ms: {'OK' if ours.ms <= target_ms else 'OVER'}" if target_ms is not None else ""
    )
    print(
        f"{name:<52} best {ours.ms:9.2f} ms   median {ours.median * 1000:9.2f} ms{verdict}{('  ' + note) if note else ''}"
    )


def figure(name: str, value: str) -> None:
    print(f"{name:<52} {value}")


def schema_tag() -> str:
    """The schema version, for the names of cached fixture databases: one kept from an
    older version would be migrated (its measurements perhaps rescored) inside the
    timed runs, so a new version builds its own."""
    from teamdash.storage.migrations import LATEST

    return f"v{LATEST}"
