"""Times at the calendar's edges with extreme offsets are refused (422), never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import CODE, World


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_inspection_at_the_calendar_edge_is_refused(
    world: World, client: TestClient, when: str
) -> None:
    r = client.post(
        f"/api/v1/shelters/{CODE}/inspections",
        headers=world.inspector.headers,
        json={"inspected_at": when, "findings": []},
    )
    assert r.status_code == 422, r.text
