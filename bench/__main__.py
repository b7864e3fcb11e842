"""`python -m bench [NAME...]`: run the benchmarks (all by default) and rewrite docs/BENCHMARKS.md.

Each module in BENCHMARKS has `results()` or `run()` giving a list of Result.
Exit status 1 if any target was missed, so a
regression is visible; the figures are written either way.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from bench.report import Result, write

BENCHMARKS: dict[str, str] = {
    "dispatcher": "bench.bench_dispatcher",
    "scaleout": "bench.bench_scaleout",
    "one_record": "bench.bench_one_record",
    "azure": "bench.bench_azure",
    "servicenow": "bench.bench_servicenow",
    "redaction": "bench.bench_redaction",
    "accounts": "bench.bench_accounts",
    "system": "bench.bench_system",
    "replay": "bench.bench_replay",
    "admin": "bench.bench_admin",
}
DOC = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    # no `choices=`: argparse checks an empty `nargs="*"` list against them too, and refuses the bare command
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    results: list[Result] = []
    for name in args.names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        for result in getattr(module, "results", module.run)():
            print(
                f"   {result.name}: {result.figures} vs {result.baseline} -> "
                f"{'' if result.ratio is None else f'{result.ratio:.2f}x '}({'met' if result.met else 'MISSED'})",
                flush=True,
            )
            results.append(result)
    write(results, DOC)
    print(f"wrote {DOC}")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
