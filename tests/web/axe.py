"""Accessibility audits of the pages with axe-core (tests/web/vendor/, vendored by
scripts/vendor, never served by the app): injected into the page under test and run with the
WCAG 2.0 and 2.1 level A and AA rules. What axe cannot decide (its "incomplete" results,
e.g. a contrast over an image) counts as a violation: the claim is that every page passes,
not that none fails. An audit walks several pages and reports the violations of all of them
at once, each with its rule, impact and the elements it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.browsing import check_page
from tests.web.seeding import Site

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
RUN_SECONDS = 60

RUN = """
const [tags, done] = arguments;
const unsure = (v) => ({ ...v, id: `${v.id} (needs review: axe could not decide)` });
axe.run(document, { runOnly: { type: 'tag', values: tags } })
  .then((result) => done(result.violations.concat(result.incomplete.map(unsure)).map((v) => ({
    id: v.id,
    impact: v.impact || 'unknown',
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary || '' })),
  }))))
  .catch((err) => done([{ id: 'axe-error', impact: 'critical', help: String(err), nodes: [] }]));
"""


class Node(TypedDict):
    target: str
    summary: str


class Violation(TypedDict):
    id: str
    impact: str
    help: str
    nodes: list[Node]


def violations(driver: WebDriver) -> list[Violation]:
    """The WCAG A/AA violations axe finds in the page as it is now, and what it cannot decide."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(RUN_SECONDS)
    found: list[Violation] = driver.execute_async_script(RUN, list(WCAG_AA))
    return found


def describe(page: str, found: list[Violation]) -> str:
    lines = [f"{page}: {len(found)} rule(s) violated"]
    for v in found:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}  -- {summary}")
    return "\n".join(lines)


@dataclass
class Audit:
    """The pages of one walk through the app: each is checked like every page of the browser
    tests (fits 390 px, nothing from another origin, photographed), then audited by axe."""

    driver: WebDriver
    site: Site
    shots: Path
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def check(self, page: str) -> None:
        check_page(self.driver, self.site, self.shots, f"a11y-{page}")
        found = violations(self.driver)
        self.pages.append(page)
        if found:
            self.problems.append(describe(page, found))

    def assert_clean(self) -> None:
        assert self.pages, "no page was audited"
        assert not self.problems, "accessibility violations:\n" + "\n".join(self.problems)
