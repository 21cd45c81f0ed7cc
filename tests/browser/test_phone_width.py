"""On a phone (375 CSS px wide), the person's own view and the plan page need no
sideways scrolling, whoever reads them; nor do the pages the person reaches from there.
The two most used pages are checked at 320 px as well (WCAG 2.1 reflow, 1.4.10).
The person logs in on the phone with the keyboard alone and finds their plan."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .a11y_support import (  # noqa: F401 - the *_fixture names are pytest fixtures
    COORDINATOR,
    PERSON,
    READER,
    SPECIALIST,
    a11y_database_fixture,
    browser_fixture,
    contexts_fixture,
    horizontal_overflow,
    site_fixture,
    tab_to,
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


def test_the_person_logs_in_on_a_phone_by_keyboard_and_finds_their_plan(browser, site):
    context = browser.new_context(viewport={"width": PHONE, "height": 740}, locale="nb-NO")
    page = context.new_page()
    page.goto(site.server.url + reverse("login"))
    assert not horizontal_overflow(page)["offenders"]
    # The username field has focus from the start; the rest is Tab, typing and Enter.
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.type(site.users[PERSON].username)
    page.keyboard.press("Tab")
    expect(page.locator("#id_password")).to_be_focused()
    page.keyboard.type(site.password)
    page.keyboard.press("Enter")
    page.wait_for_url(site.server.url + reverse("plans:dashboard"))
    tab_to(page, f"#main a[href='{reverse('records:my_plan')}']")
    page.keyboard.press("Enter")
    page.wait_for_url(site.server.url + reverse("records:my_plan"))
    expect(page.locator("h1")).to_be_visible()
    facts = horizontal_overflow(page)
    context.close()
    assert facts["scrollWidth"] <= PHONE and not facts["offenders"], facts
