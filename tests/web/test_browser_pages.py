"""The manager's, the follow-up and the city office's screens in the real headless Chromium:
a manager acknowledges an alert, reads the charts, reports a fix with a photo that an officer
then verifies from the follow-ups; a manager records the containment of a class 4 shelter
with a photo and the officer sees it on the follow-ups; a manager never sees another
manager's shelter; the city office creates a user and a shelter, a sensor and an alert-rule
override, and meets the API's refusal when verifying a fix it reported itself. Every page is
checked to fit a 390 px screen and to load nothing from another origin, and is photographed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import (
    Attachment,
    Finding,
    FindingStatus,
    Followup,
    MilestoneRecord,
    Sensor,
    Shelter,
    User,
)
from inspection.users import by_username
from telemetry.sql_models import AlertRow, AlertRuleRow
from tests.web.axe import Audit
from tests.web.browsing import check_page, click, css, log_in, log_out, text_of, wait
from tests.web.seeding import (
    ADMIN,
    DISTRICT,
    MANAGER,
    OFFICER,
    OUT_OF_SCOPE,
    Monitored,
    Site,
    found,
    report_fix,
    submit,
)

pytestmark = pytest.mark.browser


def _finding(site: Site, finding_id: int) -> Finding:
    with Session(site.engine) as session:
        finding = session.get(Finding, finding_id)
        assert finding is not None
        session.expunge(finding)
        return finding


def test_a_manager_acknowledges_an_alert_and_reads_the_charts(
    site: Site, browser: WebDriver, screenshots: Path, monitored: Monitored
) -> None:
    log_in(browser, site, MANAGER, landing=".shelter-card")
    text_of(browser, "h1", "我的工程")
    cards = browser.find_elements(By.CSS_SELECTOR, ".shelter-card")
    assert sorted(c.get_attribute("data-code") for c in cards) == sorted(site.shelters)
    card = css(browser, f".shelter-card[data-code='{monitored.code}']")
    assert "二类" in card.text
    # the fire-risk level in words beside its colour; the deadline in days
    assert "3级 黄 · 中" in card.text and "5级 红 · 极高" in card.text
    assert "剩余" in card.text
    check_page(browser, site, screenshots, "20-my-shelters")

    css(browser, f"button.ack[data-alert='{monitored.alert_id}']").click()
    text_of(browser, ".notice-ok", "告警已确认")
    text_of(browser, f"li.alert[data-alert='{monitored.alert_id}']", "已确认")
    assert not browser.find_elements(By.CSS_SELECTOR, "button.ack")
    with Session(site.engine) as session:
        row = session.get(AlertRow, monitored.alert_id)
        assert row is not None
        assert (row.status, row.acknowledged_by) == ("acknowledged", MANAGER)

    browser.get(f"{site.base}/#/my/{monitored.code}")
    css(browser, f"li.alert[data-alert='{monitored.alert_id}'] button.resolve")
    check_page(browser, site, screenshots, "21-my-shelter")
    css(browser, ".shelter-card a.button[href$='/charts']").click()
    for chart in ("temperature", "humidity", "fire_risk", "completeness"):
        css(browser, f"#chart-{chart}[data-ready=true] canvas")
    text_of(browser, ".chart-card", "传感器 HP1-A：最低")
    text_of(browser, ".chart-card", "最高火险")
    check_page(browser, site, screenshots, "22-charts-day")
    css(browser, ".segmented a[href$='range=week']").click()
    wait(
        browser,
        "the week's charts",
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, ".segmented a[aria-current][href$=week]")
            and d.find_elements(By.CSS_SELECTOR, "#chart-temperature[data-ready=true]")
        ),
    )
    check_page(browser, site, screenshots, "23-charts-week")
    vendored = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/static/vendor/'))"
    )
    assert [u.rsplit("/", 1)[1] for u in vendored] == ["echarts.simple.min.js"]

    # another manager's shelter: not found, on every screen that names it
    for path in (f"/my/{OUT_OF_SCOPE}", f"/shelters/{OUT_OF_SCOPE}/charts"):
        browser.get(f"{site.base}/#{path}")
        text_of(browser, "h1", "未找到")
        assert "静安区" not in browser.find_element(By.TAG_NAME, "main").text
    check_page(browser, site, screenshots, "24-my-not-found")
    browser.get(f"{site.base}/#/my")
    css(browser, ".shelter-card")
    assert OUT_OF_SCOPE not in browser.find_element(By.TAG_NAME, "main").text
    css(browser, "#lang-switch").click()
    text_of(browser, "h1", "My shelters")
    text_of(browser, ".shelter-card", "level 5 red · extreme")
    check_page(browser, site, screenshots, "26-my-shelters-en")


def test_a_manager_reports_a_fix_that_an_officer_verifies(
    site: Site, browser: WebDriver, screenshots: Path, monitored: Monitored, photo: Path
) -> None:
    log_in(browser, site, MANAGER, landing=".shelter-card")
    item = css(browser, f"li.finding[data-finding='{monitored.finding_id}']")
    item.find_element(By.CSS_SELECTOR, "button.report-fix").click()
    form = item.find_element(By.CSS_SELECTOR, "form.fix-form")
    form.find_element(By.CSS_SELECTOR, "button.fix-submit").click()
    text_of(browser, "form.fix-form .notice-error", "请至少拍一张")  # a fix needs a photo
    form.find_element(By.CSS_SELECTOR, "textarea").send_keys("门框除锈并重新刷漆")
    form.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
    wait(browser, "the preview", lambda d: form.find_elements(By.CSS_SELECTOR, ".preview img"))
    check_page(browser, site, screenshots, "25-report-fix")
    form.find_element(By.CSS_SELECTOR, "button.fix-submit").click()
    text_of(browser, ".notice-ok", "整改已提交")
    text_of(browser, f"li.finding[data-finding='{monitored.finding_id}']", "已报整改，待核验")
    finding = _finding(site, monitored.finding_id)
    assert (finding.status, finding.fix_note) == (FindingStatus.FIX_REPORTED, "门框除锈并重新刷漆")
    with Session(site.engine) as session:
        evidence = session.scalars(
            select(Attachment).where(Attachment.finding_id == monitored.finding_id)
        ).one()
        # kept in the file store, re-encoded; the row knows it by the bytes the phone sent
        assert evidence.purpose == "fix"
        assert evidence.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
        assert evidence.data is None and evidence.file_key
    log_out(browser)

    log_in(browser, site, OFFICER, landing="nav a[href='#/followups']")
    click(browser, "nav a[href='#/followups']")
    card = css(browser, f"li.followup[data-number='{monitored.notice_number}']")
    assert "二类" in card.text and "剩余" in card.text
    css(browser, ".followup .pdf-link")
    wait(  # the photo of the fix, fetched with the officer's token
        browser,
        "the photo of the fix",
        lambda d: d.execute_script(
            "const i = document.querySelector('.evidence img'); return i && i.naturalWidth > 0"
        ),
    )
    check_page(browser, site, screenshots, "30-followups")
    verify = f"button.verify[data-finding='{monitored.finding_id}']"
    card.find_element(By.CSS_SELECTOR, verify).click()
    css(browser, "form.verify-form textarea").send_keys("现场核验，已除锈")
    css(browser, "button.verify-submit").click()
    text_of(browser, ".notice-ok", "已核验通过")
    finding = _finding(site, monitored.finding_id)
    assert finding.status == FindingStatus.CLOSED
    with Session(site.engine) as session:
        officer = by_username(session, OFFICER)
        assert officer is not None and finding.verified_by == officer.id
        followup = session.scalars(select(Followup)).one()
        assert followup.status == "closed"
    # the closed follow-up leaves the open list, and is among the closed ones
    text_of(browser, "main", "没有符合条件的整改事项")
    Select(css(browser, "select[name=status]")).select_by_value("closed")
    css(browser, "form.filters button[type=submit]").click()
    css(browser, f"li.followup[data-number='{monitored.notice_number}']")
    check_page(browser, site, screenshots, "31-followups-closed")


def test_the_city_office_administers_users_shelters_sensors_and_rules(
    site: Site, browser: WebDriver, screenshots: Path, monitored: Monitored
) -> None:
    log_in(browser, site, ADMIN, landing="nav a[href='#/admin']")
    click(browser, "nav a[href='#/admin']")
    css(browser, "#exports button")
    css(browser, "#signs input[name=district]")
    check_page(browser, site, screenshots, "40-admin")

    css(browser, "a[href='#/admin/users']").click()
    css(browser, "#user-list")
    css(browser, "details.new-user summary").click()
    css(browser, "#user-username").send_keys("inspector-sun")
    css(browser, "#user-display_name").send_keys("孙检查")
    Select(css(browser, "#user-role")).select_by_value("inspector")
    css(browser, "#user-district").send_keys(DISTRICT)
    css(browser, "#user-password").send_keys("Rx7-kettle-Quasar-92")
    check_page(browser, site, screenshots, "41-admin-users-new")
    css(browser, "#user-form button[type=submit]").click()
    text_of(browser, ".notice-ok", "已创建账号 inspector-sun")
    css(browser, "#user-list li[data-username='inspector-sun']")
    with Session(site.engine) as session:
        user = session.scalars(select(User).where(User.username == "inspector-sun")).one()
        assert (user.role, user.district, user.display_name) == ("inspector", DISTRICT, "孙检查")
    check_page(browser, site, screenshots, "42-admin-users")

    browser.get(f"{site.base}/#/admin/shelters")
    css(browser, "#admin-shelter-list")
    check_page(browser, site, screenshots, "43-admin-shelters")
    css(browser, "#new-shelter").click()
    css(browser, "#shelter-code").send_keys("HP-101")
    css(browser, "#shelter-name").send_keys("黄浦区第101号人防工程")
    css(browser, "#shelter-district").send_keys(DISTRICT)
    css(browser, "#shelter-manager").send_keys(MANAGER)
    css(browser, "#shelter-inspector").send_keys("inspector-sun")
    css(browser, "#shelter-area_m2").send_keys("1200")
    check_page(browser, site, screenshots, "44-admin-shelter-new")
    css(browser, "#save-shelter").click()
    css(browser, "#sensor-form")
    text_of(browser, "h1", "黄浦区第101号人防工程")
    css(browser, "#sensor-id").send_keys("HP101-A")
    css(browser, "#sensor-zone").send_keys("主通道")
    css(browser, "#add-sensor").click()
    text_of(browser, ".notice-ok", "已登记传感器 HP101-A")
    text_of(browser, "#sensor-list", "主通道")
    address = css(browser, "#shelter-address")
    address.send_keys("黄浦区示范路101号")
    css(browser, "#save-shelter").click()
    text_of(browser, ".notice-ok", "已保存")
    check_page(browser, site, screenshots, "45-admin-shelter-edit")
    with Session(site.engine) as session:
        shelter = session.scalars(select(Shelter).where(Shelter.code == "HP-101")).one()
        assert (shelter.district, shelter.address, shelter.area_m2) == (
            DISTRICT,
            "黄浦区示范路101号",
            1200,
        )
        manager = by_username(session, MANAGER)
        assert manager is not None and shelter.manager_id == manager.id
        sensor = session.scalars(select(Sensor).where(Sensor.shelter_id == shelter.id)).one()
        assert (sensor.sensor_id, sensor.zone) == ("HP101-A", "主通道")

    browser.get(f"{site.base}/#/admin/rules")
    css(browser, "#add-override").click()
    block = css(browser, "fieldset.override")
    Select(block.find_element(By.NAME, "rule")).select_by_value("humidity_warning")
    Select(block.find_element(By.NAME, "scope")).select_by_value("shelter")
    block.find_element(By.NAME, "scope_value").send_keys("HP-101")
    block.find_element(By.NAME, "enter").send_keys("60")
    block.find_element(By.NAME, "clear").send_keys("70")  # clears above where it enters
    css(browser, "#save-rules").click()
    text_of(browser, "fieldset.override .notice-error", "clear 70 is above enter 60")
    block.find_element(By.NAME, "clear").clear()
    block.find_element(By.NAME, "clear").send_keys("55")
    css(browser, "#save-rules").click()
    text_of(browser, ".notice-ok", "已保存 1 项调整")
    check_page(browser, site, screenshots, "46-admin-rules")
    with Session(site.engine) as session:
        rows = session.scalars(select(AlertRuleRow)).all()
        assert [(r.rule, r.scope, r.scope_value) for r in rows] == [
            ("humidity_warning", "shelter", "HP-101")
        ]

    # the city office reported this fix itself: the API's refusal to let it verify is shown
    report_fix(site, ADMIN, monitored.finding_id, "已除锈")
    browser.get(f"{site.base}/#/followups")
    css(browser, f"button.verify[data-finding='{monitored.finding_id}']").click()
    css(browser, "button.verify-submit").click()
    text_of(browser, "form.verify-form .notice-error", "核验人必须是报告整改者以外的人")
    check_page(browser, site, screenshots, "47-followups-same-person")
    assert _finding(site, monitored.finding_id).status == FindingStatus.FIX_REPORTED


@pytest.fixture
def key_supervision(site: Site) -> str:
    """Key supervision of HP-002 (a structural crack found an hour ago): its number."""
    now = site.state.clock()
    with Session(site.engine) as session:
        crack = found("STRUCT-CRACK", "顶板裂缝", at=now - timedelta(hours=1))
        submit(site, session, site.shelters[1], crack)
        number = session.scalars(
            select(Followup.number).where(Followup.kind == "key_supervision")
        ).one()
        session.commit()
    return number


def test_a_manager_records_containment_that_an_officer_sees(
    site: Site, browser: WebDriver, screenshots: Path, key_supervision: str, photo: Path
) -> None:
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, MANAGER, landing=".shelter-card")
    browser.get(f"{site.base}/#/my/{site.shelters[1]}")
    block = css(browser, f".key-supervision[data-number='{key_supervision}']")
    containment = "li.milestone[data-milestone='containment']"
    assert "未完成" in block.find_element(By.CSS_SELECTOR, containment).text
    assert block.find_elements(By.CSS_SELECTOR, "li.milestone[data-milestone='completion']")
    click(browser, f"{containment} button.record-milestone")
    form = css(browser, "form.milestone-form[data-milestone='containment']")
    form.find_element(By.CSS_SELECTOR, "button.milestone-submit").click()
    text_of(browser, "form.milestone-form .notice-error", "请至少拍一张")
    form.find_element(By.CSS_SELECTOR, "textarea").send_keys("已设置警戒线并疏散车辆")
    form.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
    wait(browser, "the preview", lambda d: form.find_elements(By.CSS_SELECTOR, ".preview img"))
    audit.check("40-record-containment")
    form.find_element(By.CSS_SELECTOR, "button.milestone-submit").click()
    text_of(browser, ".notice-ok", "控制险情已记录")
    css(browser, f"{containment}[data-done='true']")
    with Session(site.engine) as session:
        record = session.scalars(select(MilestoneRecord)).one()
        assert (record.milestone, record.note) == ("containment", "已设置警戒线并疏散车辆")
    log_out(browser)

    log_in(browser, site, OFFICER, landing="nav a[href='#/followups']")
    click(browser, "nav a[href='#/followups']")
    card = css(browser, f"li.followup[data-number='{key_supervision}']")
    done = card.find_element(By.CSS_SELECTOR, f"{containment}[data-done='true']")
    # Named by the account's real name, not its login name.
    assert "李工程长" in done.text and MANAGER not in done.text
    assert "已设置警戒线并疏散车辆" in done.text
    plan = card.find_element(By.CSS_SELECTOR, "li.milestone[data-milestone='plan']")
    assert "未完成" in plan.text
    audit.check("41-followups-milestones")
    audit.assert_clean()
