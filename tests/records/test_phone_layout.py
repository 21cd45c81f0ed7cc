"""Phone first: the person's own view and a meeting record fit a 375 px wide screen
without sideways scrolling. The pages are rendered by Django (the test client) with
our real stylesheets and laid out by Debian's chromium through Playwright."""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

from .conftest import apply, client_for, close_meeting, start_meeting

pytestmark = [pytest.mark.django_db, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("IPPLAN_CHROMIUM", "/usr/bin/chromium")
LONG_WORD = "Sosialkontortjenestekoordineringsavtalegjennomgangsmøte" * 2


def with_inline_css(html: str) -> str:
    """The page as served, its stylesheet links replaced by their contents (a page
    loaded with set_content cannot fetch /static/)."""

    def inline(match: re.Match) -> str:
        path = ROOT / "static" / match.group(1)
        return f"<style>{path.read_text(encoding='utf-8')}</style>"

    html = re.sub(r'<link rel="stylesheet" href="/static/([^"]+)">', inline, html)
    return re.sub(r"<script[^>]*></script>", "", html)


def overflow_at_375(html: str) -> int:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.set_content(with_inline_css(html))
            return page.evaluate("document.documentElement.scrollWidth") - 375
        finally:
            browser.close()


def test_my_plan_fits_a_phone(plan, person_user, coordinator, goal):
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "text", "value": LONG_WORD},
    )
    html = client_for(person_user).get(reverse("records:my_plan")).content.decode()
    assert LONG_WORD in html
    assert overflow_at_375(html) <= 0


def test_a_meeting_record_fits_a_phone(plan, coordinator, goal):
    meeting = start_meeting(plan, coordinator)
    apply(
        plan,
        coordinator,
        {"type": "set", "target": "goal", "id": goal.pk, "field": "text", "value": LONG_WORD},
        meeting=meeting,
    )
    record = close_meeting(meeting, coordinator)
    html = client_for(coordinator).get(reverse("records:record", args=[record.pk])).content.decode()
    assert overflow_at_375(html) <= 0
