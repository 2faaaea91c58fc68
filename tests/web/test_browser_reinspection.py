"""A re-inspection (复查) in the real headless Chromium: the checklist of a shelter with a
finding still open lists it first with four choices, takes its catalogue item out of the
checklist, and a verdict of 已整改 closes the finding with the visiting inspector as verifier;
the shelter falls to class 1. A re-inspection finished offline with a photo of the finding
judged waits in the outbox and sends the photo with the inspection when the network returns;
the inspection's page shows it under the verdict. The pages are audited with axe and fit a
390 px screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import Attachment, Finding, Inspection, Shelter
from tests.web.axe import Audit
from tests.web.browsing import css, log_in, network, text_of, wait
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
    choices = [
        i.get_attribute("value")
        for i in verdict.find_elements(By.CSS_SELECTOR, "input[type=radio]")
    ]
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


def test_an_offline_reinspection_sends_its_verdict_photo_when_the_network_returns(
    site: Site, browser: WebDriver, screenshots: Path, open_rust: int, photo: Path
) -> None:
    code = site.shelters[1]
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    browser.get(f"{site.base}/#/shelters/{code}/inspect")
    verdict = css(browser, f"fieldset.verdict[data-finding='{open_rust}']")
    wait(
        browser,
        "the service worker to control the page",
        lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)"),
    )
    network(browser, offline=True)
    css(browser, f"label[for=verdict-{open_rust}-open]").click()
    verdict.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
    wait(
        browser,
        "the photo preview",
        lambda d: verdict.find_elements(By.CSS_SELECTOR, ".preview img"),
    )
    audit.check("61-reinspection-photo")
    css(browser, "#submit-inspection").click()
    css(browser, "#outbox-list .outbox-item")
    text_of(browser, "#outbox-list .outbox-summary", "复查 1 项 · 1 张照片")
    audit.check("62-reinspection-waiting")
    with Session(site.engine) as session:
        assert len(session.scalars(select(Inspection.id)).all()) == 1  # the earlier visit only

    network(browser, offline=False)
    wait(
        browser,
        "the outbox to empty",
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#outbox-list .outbox-item"),
    )
    with Session(site.engine) as session:
        later = session.scalars(select(Inspection).order_by(Inspection.id.desc())).first()
        assert later is not None
        photos = session.scalars(
            select(Attachment).where(Attachment.inspection_id == later.id)
        ).all()
        assert [a.finding_id for a in photos] == [open_rust]
        finding = session.get(Finding, open_rust)
        assert finding is not None and finding.status == "open"
    browser.get(f"{site.base}/#/inspections/{later.id}")
    shown = css(browser, f"#verdicts li[data-finding='{open_rust}']")
    assert "仍未整改" in shown.text and "防护设备锈蚀" in shown.text
    wait(
        browser,
        "the verdict photo",
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#verdicts .preview img").get_attribute("src") or ""
        ).startswith("blob:"),
    )
    audit.check("63-reinspection-photo-sent")
    audit.assert_clean()
