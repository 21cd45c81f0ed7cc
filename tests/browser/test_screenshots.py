"""Screenshots of the main pages for the README, taken from the seeded demo in Chromium
and kept in docs/screenshots/: the coordinator's overview, the plan, the meeting room
with two people in it, the meeting record, and the person's own view on a phone.

Each one is also checked for what it is meant to show, so a broken page does not end
up in the README as a picture of an error."""

from __future__ import annotations

from playwright.sync_api import expect

from .a11y_support import (  # noqa: F401 - the *_fixture names are pytest fixtures
    COORDINATOR,
    PERSON,
    SPECIALIST,
    a11y_database_fixture,
    browser_fixture,
    contexts_fixture,
    screenshot_path,
    site_fixture,
)


def shoot(page, name: str, *, height: int | None = None) -> None:
    """The whole page, or its top `height` pixels (very long pages are cut for the README)."""
    path = screenshot_path(name)
    if height is None:
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    else:
        width = page.viewport_size["width"]
        clip = {"x": 0, "y": 0, "width": width, "height": height}
        page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    assert path.stat().st_size > 10_000, f"{name} looks empty"


def test_the_coordinators_overview(contexts, site):
    page = contexts.page(COORDINATOR, "dashboard")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#main")).to_contain_text(site.users[PERSON].first_name)
    shoot(page, "dashboard.png")
    page.close()


def test_the_plan_page(contexts, site):
    page = contexts.page(COORDINATOR, "plan")
    expect(page.locator("h1")).to_contain_text(site.users[PERSON].first_name)
    shoot(page, "plan.png", height=2400)
    page.close()


def test_the_meeting_room_with_two_people(contexts, site):
    coordinator = contexts.page(COORDINATOR, "meeting-room")
    specialist = contexts.page(SPECIALIST, "meeting-room")
    specialist_name = site.names[SPECIALIST]
    expect(coordinator.locator("#presence-list")).to_contain_text(specialist_name)
    expect(specialist.locator("#presence-list")).to_contain_text(site.names[COORDINATOR])
    # The specialist is writing in a field: the coordinator sees who is there.
    field = specialist.locator("[data-key$=':current_situation']").first
    field.click()
    specialist.keyboard.press("Control+End")
    specialist.keyboard.type(" Visning avtalt til neste uke.")
    specialist.wait_for_function(
        "() => window.ipplanRoom && window.ipplanRoom.store.pendingCount === 0"
    )
    key = field.get_attribute("data-key")
    expect(coordinator.locator(f"[data-key='{key}']")).to_have_value(field.input_value())
    coordinator.mouse.move(0, 0)
    shoot(coordinator, "meeting-room-two-people.png")
    coordinator.close()
    specialist.close()


def test_the_meeting_record(contexts):
    page = contexts.page(COORDINATOR, "meeting-record")
    expect(page.locator("h1")).to_be_visible()
    shoot(page, "meeting-record.png")
    page.close()


def test_the_persons_own_view_on_a_phone(contexts, site):
    page = contexts.page(PERSON, "my-plan", width=375, height=812)
    expect(page.locator("h1")).to_be_visible()
    shoot(page, "my-plan-phone.png", height=1800)
    page.close()
