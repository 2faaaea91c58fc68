"""A re-inspection (复查) in the real headless Chromium: the checklist of a shelter with a
finding still open lists it first with four choices, takes its catalogue item out of the
checklist, and a verdict of 已整改 closes the finding with the visiting inspector as verifier;
the shelter falls to class 1. The page is audited with axe and fits a 390 px screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import Finding, Inspection, Shelter
from tests.web.axe import Audit
from tests.web.browsing import css, log_in, text_of
from tests.web.seeding import INSPECTOR, Site, found, submit

pytestmark = pytest.mark.browser


@pytest.fixture
def open_rust(site: Site) -> int:
    """HP-002 with rust found on a visit three days ago, still open: the finding's id."""
    now = site.state.clock()
    with Session(site.engine) as session:
        visit = now - timedelta(days=3)
        inspection = submit(site, session, site.shelters[1], found("EQ-RUST", "门框锈蚀", at=visit))
        finding = session.scalars(
            select(Finding.id).where(Finding.inspection_id == inspection.id)
        ).one()
        session.commit()
    return finding


def test_an_inspector_confirms_a_finding_fixed_on_a_later_visit(
    site: Site, browser: WebDriver, screenshots: Path, open_rust: int
) -> None:
    code = site.shelters[1]
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    browser.get(f"{site.base}/#/shelters/{code}/inspect")
    verdict = css(browser, f"fieldset.verdict[data-finding='{open_rust}']")
    assert "防护设备锈蚀、油漆脱落" in verdict.text and "门框锈蚀" in verdict.text
    choices = [i.get_attribute("value") for i in verdict.find_elements(By.TAG_NAME, "input")]
    assert choices == ["none", "fixed", "open", "worse"]
    # the item is open already: it cannot be marked as a new finding
    rust = css(browser, ".item[data-code=EQ-RUST]")
    assert not rust.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")
    assert "已在整改中" in rust.text
    css(browser, f"label[for=verdict-{open_rust}-fixed]").click()
    text_of(browser, "p.summary", "复查 1 项")
    audit.check("60-reinspection")
    css(browser, "#submit-inspection").click()
    text_of(browser, "#graded-class", "一类")

    with Session(site.engine) as session:
        finding = session.get(Finding, open_rust)
        assert finding is not None and finding.status == "closed"
        later = session.scalars(select(Inspection).order_by(Inspection.id.desc())).first()
        assert later is not None and later.graded_class == 1
        shelter = session.scalars(select(Shelter).where(Shelter.code == code)).one()
        assert shelter.current_class == 1
    audit.assert_clean()
