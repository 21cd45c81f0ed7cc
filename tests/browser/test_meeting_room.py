"""The meeting room in two real browsers (two users, two contexts) against a real server.

- Both type into the same field at the same time: both pages end with the same text,
  the database holds it too, and it contains every character each of them typed, in
  the order each typed them.
- The coordinator moves to the next theme and the other page follows.
- The connection goes down: typing goes on, the indicator says so, and the text is
  sent when the server is back.
- A coordinator runs a meeting by keyboard only.
"""

from __future__ import annotations

import asyncio
import datetime
from collections import Counter
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.async_api import Page, async_playwright, expect

from ipplan.meetings import services
from ipplan.meetings.models import Meeting
from ipplan.plans.models import Goal, Measure

from .conftest import CHROMIUM_ARGS, Server, session_cookie

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "meeting-room.png"

# Different alphabets so each person's characters can be counted in the result; æøå and
# an emoji because positions are counted in code points and the browser in UTF-16.
KARI_TYPES = " æøå abc 😀 kari"
SIV_TYPES = " XYZ 123 ✓ SIV"


def when(days: int = 0) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days, hours=1)


@pytest.fixture
def meeting(plan, coordinator) -> Meeting:
    meeting = services.meeting_schedule(
        plan_id=plan.pk, user=coordinator, scheduled_at=when(), place="Møterom 2"
    )
    return services.meeting_start(meeting_id=meeting.pk, user=coordinator)


def is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


async def open_room(browser, server: Server, cookie: dict, meeting_id: int) -> Page:
    """A new browser context (a person of its own), logged in, in the meeting room."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
    await context.add_cookies([cookie])
    page = await context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    await page.goto(server.url + reverse("meetings:room", args=[meeting_id]))
    await expect(page.locator(".connection")).to_have_attribute("data-state", "live", timeout=15000)
    return page


async def settled(page: Page) -> None:
    await page.wait_for_function(
        "() => window.ipplanRoom && window.ipplanRoom.store.pendingCount === 0", timeout=15000
    )


async def launch(playwright, chromium_path: str):
    return await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)


def test_two_people_typing_in_one_field_keep_every_character_and_follow_the_meeting(
    server, chromium_path, meeting, coordinator, specialist
):
    goal = Goal.objects.get(plan=meeting.plan, text="Egen leilighet")
    items = list(meeting.items.select_related("theme").order_by("position"))
    next_title = items[1].theme.title
    selector = f'[data-key="goal:{goal.pk}:text"]'
    cookies = {u.username: session_cookie(u, server.url) for u in (coordinator, specialist)}

    async def scenario() -> dict:
        async with async_playwright() as p:
            browser = await launch(p, chromium_path)
            kari = await open_room(browser, server, cookies["kari"], meeting.pk)
            siv = await open_room(browser, server, cookies["siv"], meeting.pk)
            for page in (kari, siv):
                field = page.locator(selector)
                await expect(field).to_be_editable()
                await field.click()
                await page.keyboard.press("End")
            # Both type at once, key by key, into the same place.
            await asyncio.gather(
                kari.keyboard.type(KARI_TYPES, delay=35),
                siv.keyboard.type(SIV_TYPES, delay=40),
            )
            await settled(kari)
            await settled(siv)
            await asyncio.sleep(0.5)  # let the last broadcast land
            values = {
                "kari": await kari.locator(selector).input_value(),
                "siv": await siv.locator(selector).input_value(),
            }
            # Presence: each sees the other, and where they are.
            await expect(kari.locator("#presence-list")).to_contain_text("Siv Spesialist")
            await expect(siv.locator("#presence-list")).to_contain_text("Kari Koordinator")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await siv.screenshot(path=str(SCREENSHOT), full_page=True)

            # The coordinator moves on; the other page follows.
            await kari.locator("#goto-next").click()
            next_theme = str(items[1].theme_id)
            await expect(kari.locator("#theme-panel")).to_have_attribute("data-theme", next_theme)
            await expect(siv.locator("#theme-panel")).to_have_attribute(
                "data-theme", next_theme, timeout=10000
            )
            await expect(
                siv.locator(f'#agenda-list [data-item="{items[1].pk}"] a')
            ).to_have_attribute("aria-current", "step")
            await expect(siv.locator("#theme-heading")).to_contain_text(next_title)
            values["announced"] = await siv.locator("#announcer").inner_text()
            await browser.close()
            return values

    values = asyncio.run(scenario())
    goal.refresh_from_db()
    assert values["kari"] == values["siv"] == goal.text
    final = goal.text
    expected = Counter("Egen leilighet") + Counter(KARI_TYPES) + Counter(SIV_TYPES)
    assert Counter(final) == expected
    assert is_subsequence(KARI_TYPES, final)
    assert is_subsequence(SIV_TYPES, final)
    assert final.startswith("Egen leilighet")
    meeting.refresh_from_db()
    assert meeting.current_item_id == items[1].pk
    # Every keystroke is attributed to the meeting and to its author.
    changes = goal.plan.changes.filter(target_type="goal", target_id=goal.pk, field="text")
    assert set(changes.values_list("meeting_id", flat=True)) == {meeting.pk}
    assert set(changes.values_list("user__username", flat=True)) == {"kari", "siv"}
    assert next_title in values["announced"]


def test_typing_goes_on_while_the_server_is_down_and_arrives_when_it_is_back(
    server, chromium_path, meeting, specialist
):
    theme = meeting.current_item.theme
    selector = f'[data-key="theme:{theme.pk}:current_situation"]'
    cookie = session_cookie(specialist, server.url)

    async def scenario() -> None:
        async with async_playwright() as p:
            browser = await launch(p, chromium_path)
            page = await open_room(browser, server, cookie, meeting.pk)
            field = page.locator(selector)
            await field.click()
            await page.keyboard.type("Bor hos mor")
            await settled(page)
            server.stop()
            await expect(page.locator(".connection")).not_to_have_attribute(
                "data-state", "live", timeout=10000
            )
            await page.keyboard.type(", venter på svar")
            await expect(page.locator("#connection")).to_contain_text("1", timeout=10000)
            state = await page.locator(".connection").get_attribute("data-state")
            assert state in {"reconnecting", "offline"}
            server.start()  # same port
            await page.locator("#retry").click()
            await expect(page.locator(".connection")).to_have_attribute(
                "data-state", "live", timeout=20000
            )
            await settled(page)
            await browser.close()

    asyncio.run(scenario())
    theme.refresh_from_db()
    assert theme.current_situation == "Bor hos mor, venter på svar"


async def tab_to(page: Page, selector: str, limit: int = 250) -> None:
    """Press Tab until `selector` has focus (fails if it is not reachable by keyboard)."""
    for _ in range(limit):
        if await page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            # Focus must be visible.
            outline = await page.evaluate(
                "() => getComputedStyle(document.activeElement).outlineStyle"
            )
            assert outline != "none", f"no visible focus on {selector}"
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_a_coordinator_runs_a_meeting_by_keyboard_only(server, chromium_path, plan, coordinator):
    planned = services.meeting_schedule(plan_id=plan.pk, user=coordinator, scheduled_at=when())
    items = list(planned.items.order_by("position"))
    goal = Goal.objects.get(plan=plan, text="Egen leilighet")
    cookie = session_cookie(coordinator, server.url)

    async def scenario() -> None:
        async with async_playwright() as p:
            browser = await launch(p, chromium_path)
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            await context.add_cookies([cookie])
            page = await context.new_page()
            await page.goto(server.url + reverse("meetings:detail", args=[planned.pk]))
            await tab_to(page, "form[action$='/start/'] button")
            await page.keyboard.press("Enter")
            await expect(page.locator(".connection")).to_have_attribute(
                "data-state", "live", timeout=15000
            )
            # Edit the goal of the first theme.
            await tab_to(page, f'[data-key="goal:{goal.pk}:success_criterion"]')
            await page.keyboard.press("End")
            await page.keyboard.type(" og flyttet inn")
            # Add a measure.
            await tab_to(page, "#add-measure > summary")
            await page.keyboard.press("Enter")
            await tab_to(page, "#new-measure-description")
            await page.keyboard.type("Kjøpe innbo")
            await tab_to(page, "#add-measure button[type=submit]")
            await page.keyboard.press("Enter")
            await expect(page.locator("#measure-list > li")).to_have_count(2)
            await settled(page)
            # Move through the agenda.
            await tab_to(page, "#goto-next")
            await page.keyboard.press("Enter")
            await expect(page.locator("#theme-panel")).to_have_attribute(
                "data-theme", str(items[1].theme_id)
            )
            # Close.
            await tab_to(page, "#close-meeting")
            await page.keyboard.press("Enter")
            await page.wait_for_url("**/avslutt/")
            await tab_to(page, "form[data-close-form] button[type=submit]")
            await page.keyboard.press("Enter")
            await page.wait_for_url(f"**{reverse('meetings:detail', args=[planned.pk])}")
            await browser.close()

    asyncio.run(scenario())
    planned.refresh_from_db()
    goal.refresh_from_db()
    assert planned.status == Meeting.Status.CLOSED
    assert goal.success_criterion == "Har signert leiekontrakt og flyttet inn"
    assert Measure.objects.alive().filter(plan=plan, description="Kjøpe innbo").exists()
    assert planned.changes.filter(target_type="measure", kind="create").exists()


def test_undo_takes_back_only_my_typing_refusals_are_explained_and_readers_only_read(
    server, chromium_path, meeting, coordinator, specialist, reader
):
    goal = Goal.objects.get(plan=meeting.plan, text="Egen leilighet")
    text = f'[data-key="goal:{goal.pk}:text"]'
    date = f'[data-key="goal:{goal.pk}:evaluation_date"]'
    original_date = goal.evaluation_date.isoformat()
    cookies = {u.username: session_cookie(u, server.url) for u in (coordinator, specialist, reader)}

    async def scenario() -> dict:
        async with async_playwright() as p:
            browser = await launch(p, chromium_path)
            kari = await open_room(browser, server, cookies["kari"], meeting.pk)
            siv = await open_room(browser, server, cookies["siv"], meeting.pk)
            frida = await open_room(browser, server, cookies["frida"], meeting.pk)
            await siv.locator(text).click()
            await siv.keyboard.press("End")
            await siv.keyboard.type(" i sentrum")
            await settled(siv)
            await kari.locator(text).click()
            await kari.keyboard.press("Home")
            await kari.keyboard.type("Ny: ")
            await settled(kari)
            await expect(siv.locator(text)).to_have_value("Ny: Egen leilighet i sentrum")
            # Siv undoes: her words go, Kari's stay, for everyone.
            await siv.keyboard.press("Control+z")
            await expect(kari.locator(text)).to_have_value("Ny: Egen leilighet")
            await expect(siv.locator(text)).to_have_value("Ny: Egen leilighet")
            await siv.keyboard.press("Control+Shift+z")
            await expect(kari.locator(text)).to_have_value("Ny: Egen leilighet i sentrum")
            await settled(siv)
            # A date outside the plan period: refused, explained next to the field, put back.
            await siv.locator(date).fill("2001-01-01")
            wrapper = siv.locator(".lfield", has=siv.locator(date))
            await expect(wrapper.locator("[data-error]")).not_to_be_empty()
            await expect(siv.locator(date)).to_have_value(original_date)
            await expect(siv.locator(date)).to_have_attribute("aria-invalid", "true")
            error = await wrapper.locator("[data-error]").inner_text()
            # The reader follows read-only.
            await expect(frida.locator(text)).to_have_value("Ny: Egen leilighet i sentrum")
            await expect(frida.locator(text)).not_to_be_editable()
            await expect(frida.locator(date)).to_be_disabled()
            await expect(frida.locator("#add-goal")).to_be_hidden()
            await expect(frida.locator("#undo")).to_be_disabled()
            await browser.close()
            return {"error": error}

    result = asyncio.run(scenario())
    goal.refresh_from_db()
    assert goal.text == "Ny: Egen leilighet i sentrum"
    assert goal.evaluation_date.isoformat() == original_date
    assert result["error"].strip()  # the server's message for people ("outside the plan period")


def test_goals_are_reordered_and_removed_by_keyboard_and_a_removal_can_be_undone(
    server, chromium_path, meeting, specialist, coordinator
):
    plan = meeting.plan
    theme = meeting.current_item.theme
    first = Goal.objects.get(plan=plan, text="Egen leilighet")
    second = Goal.objects.create(
        plan=plan,
        theme=theme,
        text="Betale husleie selv",
        success_criterion="Ingen purringer i tre måneder",
        evaluation_date=first.evaluation_date,
        position=1,
    )
    cookies = {u.username: session_cookie(u, server.url) for u in (specialist, coordinator)}

    async def scenario() -> dict:
        async with async_playwright() as p:
            browser = await launch(p, chromium_path)
            siv = await open_room(browser, server, cookies["siv"], meeting.pk)
            kari = await open_room(browser, server, cookies["kari"], meeting.pk)
            siv.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            up = f'[data-object="goal"][data-id="{second.pk}"] [data-action="move-up"]'
            await siv.locator(up).focus()
            await siv.keyboard.press("Enter")
            cards = kari.locator("#goal-list > li")
            await expect(cards.first).to_have_attribute("data-id", str(second.pk))
            await expect(siv.locator("#goal-list > li").first).to_have_attribute(
                "data-id", str(second.pk)
            )
            # Focus stays with the card that moved (its "move up" is now disabled).
            focused = await siv.evaluate(
                "() => document.activeElement.closest('[data-object]')?.dataset.id"
            )
            remove = f'[data-object="goal"][data-id="{first.pk}"] [data-action="delete"]'
            await siv.locator(remove).focus()
            await siv.keyboard.press("Enter")
            await expect(cards).to_have_count(1)
            announced = await kari.locator("#announcer").inner_text()
            await siv.locator("#undo").focus()
            await siv.keyboard.press("Enter")
            await expect(cards).to_have_count(2)
            await expect(cards.last).to_have_attribute("data-id", str(first.pk))
            await settled(siv)
            await browser.close()
            return {"focused": focused, "announced": announced}

    result = asyncio.run(scenario())
    assert result["focused"] == str(second.pk)
    assert "Siv Spesialist" in result["announced"]
    order = list(Goal.objects.alive().filter(theme=theme).values_list("pk", flat=True))
    assert order == [second.pk, first.pk]
