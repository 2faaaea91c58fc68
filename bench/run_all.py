"""Run the benchmarks one after another: bench_payload, bench_line_protocol, bench_broker (if
present), bench_ingest (``--quick`` unless ``--full``), bench_webapp and bench_import. Each
prints its own figures and ratios.

Run: ``python bench/run_all.py [--full]``. Exits non-zero if any benchmark failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--full", action="store_true", help="bench_ingest with 200,000 readings")
    args = p.parse_args(argv)
    runs: list[list[str]] = [["bench_payload.py"], ["bench_line_protocol.py"]]
    if (BENCH / "bench_broker.py").exists():
        runs.append(["bench_broker.py"])
    runs.append(["bench_ingest.py"] + ([] if args.full else ["--quick"]))
    runs.append(["bench_webapp.py"])
    runs.append(["bench_import.py"])
    failed = []
    for script, *flags in runs:
        print(f"\n=== {script} {' '.join(flags)}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(BENCH / script), *flags], cwd=BENCH.parent)
        print(f"=== {script}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
