"""On a phone (375 CSS px wide), the person's own view and the plan page need no
sideways scrolling, whoever reads them; nor do the pages the person reaches from there.
The two most used pages are checked at 320 px as well (WCAG 2.1 reflow, 1.4.10)."""

from __future__ import annotations

import pytest

from .a11y_support import (  # noqa: F401 - fixtures used by name
    COORDINATOR,
    PERSON,
    READER,
    SPECIALIST,
    a11y_database,
    browser,
    contexts,
    horizontal_overflow,
    site,
)

PHONE = 375
SMALLEST = 320

PAGES = [
    (PERSON, "my-plan", PHONE),
    (PERSON, "plan", PHONE),
    (PERSON, "dashboard", PHONE),
    (PERSON, "access-log", PHONE),
    (PERSON, "consent", PHONE),
    (PERSON, "comments", PHONE),
    (PERSON, "meeting-closed", PHONE),
    (PERSON, "meeting-record", PHONE),
    (COORDINATOR, "plan", PHONE),
    (COORDINATOR, "dashboard", PHONE),
    (COORDINATOR, "meeting-room", PHONE),
    (COORDINATOR, "goal-edit", PHONE),
    (SPECIALIST, "plan", PHONE),
    (READER, "plan", PHONE),
    (PERSON, "my-plan", SMALLEST),
    (COORDINATOR, "plan", SMALLEST),
]


@pytest.mark.parametrize(
    ("role", "key", "width"),
    [pytest.param(r, k, w, id=f"{r}-{k}-{w}px") for r, k, w in PAGES],
)
def test_the_page_fits_a_phone_without_sideways_scrolling(contexts, role, key, width):
    page = contexts.page(role, key, width=width, height=800)
    facts = horizontal_overflow(page)
    page.close()
    assert facts["viewport"] == width
    # Hiding the overflow would only hide the problem (content cut off).
    assert "hidden" not in (facts["bodyOverflowX"], facts["htmlOverflowX"])
    assert facts["scrollWidth"] <= width, (
        f"{key} is {facts['scrollWidth']}px wide at {width}px; too wide: {facts['offenders']}"
    )
    assert not facts["offenders"], f"{key}: elements reach outside the screen: {facts['offenders']}"
