"""Every page of the seeded demo, as each of its users, checked with axe-core in Chromium.

- axe's WCAG 2.0/2.1 A and AA rules find no serious or critical violation on any page,
  for any role (coordinator, specialist, read-only member, the person, unit leader).
- The skip link is the first thing Tab reaches, shows itself, and moves focus to the
  main content.
- Every focusable element on the main pages shows where the focus is.
- The meeting room announces other people's changes and the connection state politely,
  and form errors are tied to their fields (aria-invalid + aria-describedby).

The pages and who opens them are listed in a11y_support.PAGES.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .a11y_support import (  # noqa: F401 - the *_fixture names are pytest fixtures
    ANONYMOUS,
    COORDINATOR,
    LEADER,
    PAGE_BY_KEY,
    PERSON,
    READER,
    SPECIALIST,
    a11y_database_fixture,
    blocking,
    browser_fixture,
    contexts_fixture,
    describe,
    role_pages,
    run_axe,
    site_fixture,
)


@pytest.mark.parametrize(("role", "key"), role_pages())
def test_the_page_has_no_serious_or_critical_axe_violations(contexts, role, key):
    page = contexts.page(role, key)
    try:
        violations = run_axe(page)
    finally:
        page.close()
    others = [v for v in violations if v not in blocking(violations)]
    if others:  # shown with -rA / on failure: worth fixing, not blocking
        print(f"{role} {key}: minor/moderate:\n{describe(others, limit=3)}")
    found = blocking(violations)
    assert not found, f"{role} on {key}: axe found\n{describe(found)}"


def test_axe_reports_what_it_is_meant_to_find(contexts):
    """The harness itself: a planted image without a text alternative is reported."""
    page = contexts.page(COORDINATOR, "dashboard")
    page.evaluate(
        "() => { const img = document.createElement('img');"
        " img.src = '/static/vendor/axe/none.png'; img.id = 'planted';"
        " document.querySelector('#main').append(img); }"
    )
    found = blocking(run_axe(page))
    page.close()
    assert [v["id"] for v in found] == ["image-alt"]
    assert found[0]["nodes"][0]["target"] == ["#planted"]


# --------------------------------------------------------------------------- keyboard


def focus_is_visible(page) -> dict:
    """Whether the focused element draws a focus indicator (outline or box-shadow)."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
          const shadow = s.boxShadow && s.boxShadow !== 'none';
          const r = el.getBoundingClientRect();
          return {
            visible: outline || shadow,
            onScreen: r.width > 0 && r.height > 0,
            what: el.outerHTML.slice(0, 160),
          };
        }"""
    )


@pytest.mark.parametrize(
    ("role", "key"),
    [
        # Not the login page: its username field has focus from the start.
        pytest.param(COORDINATOR, "dashboard", id="coordinator-dashboard"),
        pytest.param(COORDINATOR, "plan", id="coordinator-plan"),
        pytest.param(COORDINATOR, "goal-edit", id="coordinator-goal-edit"),
        pytest.param(PERSON, "my-plan", id="person-my-plan"),
        pytest.param(READER, "meeting-room", id="reader-meeting-room"),
        pytest.param(LEADER, "statistics", id="leader-statistics"),
    ],
)
def test_the_skip_link_comes_first_and_moves_focus_to_the_main_content(contexts, role, key):
    page = contexts.page(role, key)
    page.bring_to_front()
    assert page.evaluate("() => document.activeElement === document.body"), "focus starts nowhere"
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 160)")
    assert "skip-link" in focused, f"the first Tab stop is {focused}"
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "the skip link is visible when it has focus"
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.close()


@pytest.mark.parametrize(
    ("role", "key"),
    [
        pytest.param(ANONYMOUS, "login", id="anonymous-login"),
        pytest.param(COORDINATOR, "dashboard", id="coordinator-dashboard"),
        pytest.param(COORDINATOR, "plan", id="coordinator-plan"),
        pytest.param(COORDINATOR, "goal-edit", id="coordinator-goal-edit"),
        pytest.param(COORDINATOR, "members", id="coordinator-members"),
        pytest.param(COORDINATOR, "meeting-room", id="coordinator-meeting-room"),
        pytest.param(COORDINATOR, "meeting-record", id="coordinator-meeting-record"),
        pytest.param(COORDINATOR, "course-edit", id="coordinator-course-edit"),
        pytest.param(COORDINATOR, "api-docs", id="coordinator-api-docs"),
        pytest.param(SPECIALIST, "comments", id="specialist-comments"),
        pytest.param(SPECIALIST, "history", id="specialist-history"),
        pytest.param(PERSON, "my-plan", id="person-my-plan"),
        pytest.param(PERSON, "access-log", id="person-access-log"),
        pytest.param(PERSON, "consent", id="person-consent"),
        pytest.param(LEADER, "statistics", id="leader-statistics"),
    ],
)
def test_every_focusable_element_shows_its_focus(contexts, role, key):
    page = contexts.page(role, key)
    seen: list[str] = []
    invisible: list[str] = []
    first = None
    for _ in range(400):
        page.keyboard.press("Tab")
        marker = page.evaluate(
            "() => { const el = document.activeElement;"
            " if (!el || el === document.body) return null;"
            " if (!el.dataset.tabSeen) el.dataset.tabSeen = String(Math.random());"
            " return el.dataset.tabSeen; }"
        )
        if marker is None:
            continue
        if marker == first:
            break  # round the page once
        first = first or marker
        if marker in seen:
            continue
        seen.append(marker)
        state = focus_is_visible(page)
        if not (state["visible"] and state["onScreen"]):
            invisible.append(state["what"])
    page.close()
    assert len(seen) > 3, f"Tab reaches only {len(seen)} elements on {key}"
    assert not invisible, f"no visible focus on {key}:\n" + "\n".join(invisible)


# ---------------------------------------------------------------------- screen readers


def test_the_meeting_room_announces_connection_and_other_peoples_changes_politely(site, contexts):
    assert PAGE_BY_KEY["meeting-room"].ready  # both pages below are connected
    lead = contexts.page(COORDINATOR, "meeting-room")
    other = contexts.page(SPECIALIST, "meeting-room")
    # The connection state is a polite status, and it said so when it went live.
    connection = lead.locator("#connection")
    expect(connection).to_have_attribute("role", "status")
    expect(connection).to_have_attribute("aria-live", "polite")
    served = lead.request.get(lead.url).text()
    connecting = re.search(r'id="connection"[^>]*>([^<]+)<', served).group(1).strip()
    expect(connection).not_to_have_text(connecting)
    expect(connection).not_to_have_text("")
    announcer = lead.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    # The specialist writes in the current theme; the coordinator's screen reader hears who.
    field = other.locator("[data-key$=':current_situation']").first
    key = field.get_attribute("data-key")
    field.click()
    other.keyboard.press("Control+End")
    other.keyboard.type(" Avtalt visning.")
    other.wait_for_function("() => window.ipplanRoom && window.ipplanRoom.store.pendingCount === 0")
    expect(lead.locator(f"[data-key='{key}']")).to_have_value(field.input_value())
    expect(announcer).to_contain_text(site.names[SPECIALIST].split()[0])
    # A refusal is shown in the field's own message line, which describes the field.
    described = lead.locator(f"[data-key='{key}']").get_attribute("aria-describedby")
    assert described and lead.locator(f"#{described} [data-error]").count() == 1
    lead.close()
    other.close()


def test_form_errors_are_tied_to_their_fields(contexts):
    page = contexts.page(COORDINATOR, "goal-create")
    page.locator("textarea, input[type=text]").first.fill("")
    for textarea in page.locator("form textarea").all():
        textarea.fill("")
    page.locator("form.form button[type=submit], form button[type=submit]").last.click()
    page.wait_for_load_state("load")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    invalid = page.locator("[aria-invalid='true']")
    assert invalid.count() >= 1, "the empty required fields are marked invalid"
    for field in invalid.all():
        field_id = field.get_attribute("id")
        described = (field.get_attribute("aria-describedby") or "").split()
        errors = [i for i in described if i.endswith("_error")]
        assert errors, f"#{field_id} is not described by its error"
        expect(page.locator(f"#{errors[0]}")).not_to_be_empty()
        # The summary links to the field.
        expect(summary.locator(f"a[href='#{field_id}']")).to_have_count(1)
    page.close()
