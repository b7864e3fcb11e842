"""Benchmark results and the docs/BENCHMARKS.md writer. Every result compares with a baseline measured in the
same run, so the ratio means something on any machine; absolute figures are for this machine only."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Result:
    name: str
    what: str
    figures: dict[str, str]
    baseline: str
    ratio: float | None
    target: str
    met: bool
    notes: list[str] = field(default_factory=list)


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {mem_gib:.0f} GiB memory, Python {sys.version.split()[0]}, "
        f"{platform.system()} {platform.machine()}"
    )


def peak_rss_mb() -> float:
    """This process's own peak resident memory in MB: ``VmHWM``, which starts afresh at exec. Not ``ru_maxrss``:
    Linux carries a parent's peak across fork and exec, so a measured process started by a grown ``python -m
    bench`` reported the parent's size (replay: 202 MB for a replay of 83)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_reference_ms(steps: int = 3_000_000) -> float:
    """A fixed pure-Python loop (best of 3), so figures from machines of different speed can be compared:
    the bridge is Python, and its per-request cost scales with this, not with the core count."""
    best = float("inf")
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for i in range(steps):
            total += i
        best = min(best, time.perf_counter() - start)
    return best * 1000


def render(results: list[Result]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m bench` (do not edit by hand). Each benchmark compares the bridge with a baseline",
        "measured in the same run, on the same machine, so the ratio is the figure to read.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Machine: {machine()}",
        f"- CPU reference: a 3,000,000-step Python loop takes {cpu_reference_ms():.0f} ms on it (best of 3; lower "
        "is faster; compare it before comparing figures from two runs)",
        "",
        "| benchmark | result | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        figures = "; ".join(f"{k}: {v}" for k, v in r.figures.items())
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        lines.append(f"| {r.name} | {figures} | {r.baseline} | {ratio} | {r.target} | {'yes' if r.met else 'NO'} |")
    lines.append("")
    for r in results:
        lines += [f"## {r.name}", "", r.what, ""]
        lines += [f"- {note}" for note in r.notes]
        lines.append("")
    return "\n".join(lines)


def write(results: list[Result], path: Path) -> None:
    """Rewrite ``path``; benchmarks not run this time keep their last figures (kept beside it as JSON)."""
    store = path.with_suffix(".json")
    previous = {r["name"]: Result(**r) for r in json.loads(store.read_text())} if store.exists() else {}
    merged = {**previous, **{r.name: r for r in results}}
    ordered = sorted(merged.values(), key=lambda r: ORDER.index(r.name) if r.name in ORDER else len(ORDER))
    path.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps([asdict(r) for r in ordered], indent=1))
    path.write_text(render(ordered))
    _update_readme(path.parents[1] / "README.md", ordered)


def _update_readme(readme: Path, results: list[Result]) -> None:
    """Keep the README's summary table (between its bench markers) equal to the latest figures."""
    if not readme.exists():
        return
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    rows = ["| benchmark | result | ratio to baseline | target met |", "|---|---|---|---|"]
    for r in results:
        figures = "; ".join(f"{k}: {v}" for k, v in r.figures.items())
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x ({r.baseline})"
        rows.append(f"| {r.name} | {figures} | {ratio} | {'yes' if r.met else 'NO: ' + r.target} |")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(f"{head}{start}\n" + "\n".join(rows) + f"\n{end}{tail}")


ORDER = [
    "bridge vs a serial pysnow script",
    "cold start",
    "azure webhook ingest",
    "alert to incident end to end",
    "dispatcher 0 ms",
    "dispatcher 50 ms",
    "scale-out: 3 workers vs 1",
    "one record, ordered, under faults",
    "ServiceNow calls per change",
    "poll 100,000 changes",
    "MPAN redaction",
    "MPAN last gate",
    "accounts first sync",
    "accounts change set",
    "replay 100,000 events",
    "admin pages on 100,000 events",
]
