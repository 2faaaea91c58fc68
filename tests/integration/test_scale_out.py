"""Scale-out, small: two ingesters on a shared subscription over a private Mosquitto with the
shipped configuration, one killed with SIGKILL mid-stream (and started again) and the broker
restarted, with nothing lost, nothing extra stored, one alert per condition and one
notification per recipient (tests/integration/scaleout.py has the whole rig). The full run,
three ingesters and two API servers behind nginx with one of them killed, is
``bench/scale_out.py``: on a busy shared two-core machine its five processes took over 90 s
just to start.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.scaleout import Scenario, run

pytestmark = [pytest.mark.influx, pytest.mark.postgres]


def test_two_ingesters_survive_a_kill_and_a_broker_restart(tmp_path: Path) -> None:
    figures = run(Scenario(ingesters=2, servers=0, messages=2000), tmp_path)
    assert figures["alerts"] == 3
    print(f"\n{figures}")
