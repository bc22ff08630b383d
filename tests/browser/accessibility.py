"""An accessibility audit of a page in Chromium: axe-core (WCAG 2.1 A and AA) and sideways scrolling, at each width.

`Audit.visit(page, name)` audits the page that is open at 1280 and at 390 px (and measures sideways scrolling at
360 px and at 200% zoom): it takes a full-page screenshot of
the page as served (tests/browser/screenshots/a11y-<name>-<width>.png, git-ignored artefacts), then opens every
<details> (the forms behind disclosure triangles are part of the page too) and runs axe-core on the whole
document and measures whether the document scrolls sideways. `Audit.check(known)` is a ratchet: it fails on any
finding not in `known`, and on any entry of `known` that no longer occurs, so the list of accepted findings only
shrinks."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import SCREENSHOTS

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
# Sideways scrolling only, no axe run: the narrowest phone in use, and a 1280 px screen zoomed to 200% (which lays
# the page out in 640 CSS px, as Chromium's zoom does), both with every <details> open.
NARROW = {"360": {"width": 360, "height": 740}, "1280@200%": {"width": 640, "height": 450}}
SIDEWAYS = "sideways-scroll"  # the pseudo rule id of a document wider than the viewport
# label-content-name-mismatch (WCAG 2.5.3) is still "experimental" in axe, so off unless named; issue 12 names it.
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"],
           "rules": {"label-content-name-mismatch": {"enabled": True}}}

_axe = Axe()

OPEN_DETAILS = "() => document.querySelectorAll('details:not([open])').forEach((d) => { d.open = true; })"
# How wide the document is against the viewport, and the widest elements that stick out past it (to say why).
MEASURE = """() => {
  const viewport = document.documentElement.clientWidth;
  const wide = Array.from(document.querySelectorAll('main *'))
    .filter((el) => el.getBoundingClientRect().right > viewport + 1)
    .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= viewport + 1)
    .slice(0, 3)
    .map((el) => `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''}`
                 + ` ${Math.round(el.getBoundingClientRect().right)}px`);
  return {scroll: document.documentElement.scrollWidth, viewport, wide};
}"""


@dataclass(frozen=True)
class Finding:
    page: str
    width: int | str  # px, or a NARROW label
    rule: str  # an axe rule id, or SIDEWAYS
    count: int  # the elements affected (for SIDEWAYS: the document's width in px)
    impact: str
    detail: str  # the first targets, or the elements that stick out

    @property
    def key(self) -> tuple[str, int | str, str]:
        return (self.page, self.width, self.rule)


@dataclass
class Audit:
    findings: list[Finding] = field(default_factory=list)
    pages: list[tuple[str, int | str]] = field(default_factory=list)

    def visit(self, page, name: str, *, reload: bool = True) -> list[Finding]:
        """Audit the page now open at both widths; leaves the viewport at 1280 px. Between the widths the page is
        loaded again, with its details closed as served; not a page a POST answered (`reload=False`)."""
        found = []
        url = page.url
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            page.wait_for_timeout(50)  # let media queries and layout settle
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"a11y-{_slug(name)}-{width}.png"), full_page=True)
            page.evaluate(OPEN_DETAILS)
            results = _axe.run(page, options=OPTIONS)
            for violation in results.response["violations"]:
                targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
                found.append(Finding(name, width, violation["id"], len(violation["nodes"]),
                                     violation.get("impact") or "", "; ".join(targets[:3])))
            measured = page.evaluate(MEASURE)
            if measured["scroll"] > measured["viewport"]:
                found.append(Finding(name, width, SIDEWAYS, measured["scroll"], "serious",
                                     ", ".join(measured["wide"])))
            self.pages.append((name, width))
            if width == min(WIDTHS):  # the details are still open: the narrower layouts, measured only
                found.extend(self._narrow(page, name))
            if reload:
                page.goto(url)  # the details closed again, as served
        page.set_viewport_size(WIDTHS[1280])
        self.findings.extend(found)
        return found

    def _narrow(self, page, name: str) -> list[Finding]:
        found = []
        for label, viewport in NARROW.items():
            page.set_viewport_size(viewport)
            page.wait_for_timeout(50)
            measured = page.evaluate(MEASURE)
            if measured["scroll"] > measured["viewport"]:
                found.append(Finding(name, label, SIDEWAYS, measured["scroll"], "serious",
                                     ", ".join(measured["wide"])))
            self.pages.append((name, label))
        return found

    def summary(self) -> str:
        """A table of the findings per page and width: the count of distinct rules, and which."""
        by_page: dict[tuple[str, int | str], list[Finding]] = {}
        for finding in self.findings:
            by_page.setdefault((finding.page, finding.width), []).append(finding)
        rows = [f"{'page':<34} {'width':>9}  {'n':>2}  rules (elements)"]
        for name, width in self.pages:
            here = by_page.get((name, width), [])
            rules = ", ".join(f"{f.rule}" + (f"({f.count})" if f.rule != SIDEWAYS else f"({f.count}px)")
                              for f in here)
            rows.append(f"{name:<34} {width!s:>9}  {len(here):>2}  {rules or '-'}")
        totals = Counter(f.rule for f in self.findings)
        rows.append("total per rule: " + (", ".join(f"{rule} {n}" for rule, n in totals.most_common()) or "none"))
        return "\n".join(rows)

    def check(self, known: set[tuple[str, int | str, str]]) -> None:
        """Fail on a finding not in `known`, and on an entry of `known` (for a page audited here) that is gone."""
        print("\n" + self.summary())
        found = {f.key: f for f in self.findings}
        audited = set(self.pages)
        new = [f for key, f in found.items() if key not in known]
        gone = sorted(k for k in known if (k[0], k[1]) in audited and k not in found)
        problems = [f"new: {f.page} @{f.width}px {f.rule} ×{f.count} [{f.impact}] {f.detail}" for f in new]
        problems += [f"fixed, take it off the KNOWN list: {k}" for k in gone]
        assert not problems, "accessibility ratchet:\n" + "\n".join(problems)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
