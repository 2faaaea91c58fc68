"""Scale-out at full size with real processes: three ``shelterwatch ingest`` on one shared
subscription and two ``shelterwatch serve`` behind a private nginx with the shipped site, a
private Mosquitto with the shipped configuration, a fresh PostgreSQL database and a fresh
InfluxDB database. Mid-stream one ingester and one serve process are killed with SIGKILL and
the broker is restarted; then it checks that nothing was lost or stored twice, that each
condition raised one alert and each recipient got one notification, and that every request
made through nginx was answered (the rig and its checks: tests/integration/scaleout.py).

Run: ``python bench/scale_out.py [--messages N]``. Needs PostgreSQL (127.0.0.1:5432), InfluxDB
behind the nginx write rewrite (127.0.0.1:8087), and the ``mosquitto`` and ``nginx``
binaries. Prints the timings and counts; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.scaleout import Scenario, run  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=6000, help="a multiple of 100, >= 2000")
    p.add_argument("--ingesters", type=int, default=3)
    p.add_argument("--servers", type=int, default=2)
    args = p.parse_args(argv)
    scenario = Scenario(ingesters=args.ingesters, servers=args.servers, messages=args.messages)
    with tempfile.TemporaryDirectory(prefix="swscale-") as tmp:
        try:
            figures = run(scenario, Path(tmp))
        except AssertionError as exc:
            print(f"scale-out check failed: {exc}", file=sys.stderr)
            return 1
    print(f"{scenario}: every check passed")
    for name, value in figures.items():
        print(f"  {name:<34}{value:>12,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
