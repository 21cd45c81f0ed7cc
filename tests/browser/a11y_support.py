"""Shared machinery for the accessibility, phone-width and screenshot suites.

They all look at the seeded demo (`manage.py load_demo`, seeds/demo.json) the way its
users do: one Daphne server and one Chromium per test module, one browser context per
role. The demo is committed to the test database (the server is another process) and
flushed when the module is done, so the rest of the suite sees an empty database again.

The roles are found in the seed, not hard-coded: the coordinator, a specialist with edit
access, a read-only member and the person of the first demo plan, and the unit leader.
Page URLs come from reverse() on the loaded objects, so no id is written down here.

Playwright's sync API keeps an event loop running in this thread, which Django treats
as async context: everything that needs the database happens in the fixtures *before*
the browser starts (and the flush after it has stopped).
"""

from __future__ import annotations

import datetime
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from tests.db_support import allow_flush, restore_append_only

from .conftest import CHROMIUM_ARGS, Server

ROOT = Path(__file__).resolve().parents[2]
AXE = "/static/vendor/axe/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
SCREENSHOTS = ROOT / "docs" / "screenshots"
FAST_HASHING = ["django.contrib.auth.hashers.MD5PasswordHasher"]

COORDINATOR = "coordinator"
SPECIALIST = "specialist"
READER = "reader"
PERSON = "person"
LEADER = "leader"
ANONYMOUS = "anonymous"
ROLES = (COORDINATOR, SPECIALIST, READER, PERSON, LEADER)
MEMBERS = (COORDINATOR, SPECIALIST, READER, PERSON)
EDITORS = (COORDINATOR, SPECIALIST)


# ------------------------------------------------------------------------ the pages


@dataclass(frozen=True)
class PageSpec:
    """A page of the product: who should be able to open it, and how to find its URL.

    `url` gets the loaded demo objects (a `Demo`) and returns a path, or None when the
    demo has nothing to show there (the test then skips with `missing`). `ready` is a
    selector the page shows once its scripts are done (the meeting room: connected);
    `prepare` opens what the page hides at first, so axe sees that too."""

    key: str
    roles: tuple[str, ...]
    url: Callable[[Demo], str | None]
    ready: str | None = None
    missing: str = ""
    prepare: Callable[[Any], None] | None = None


def _plan(name: str, *args: Any) -> Callable[[Demo], str]:
    return lambda d: reverse(name, args=[d.plan.pk, *[getattr(d, a).pk for a in args]])


def _maybe(name: str, attr: str, *, with_plan: bool = False) -> Callable[[Demo], str | None]:
    def url(d: Demo) -> str | None:
        obj = getattr(d, attr)
        if obj is None:
            return None
        return reverse(name, args=[d.plan.pk, obj.pk] if with_plan else [obj.pk])

    return url


LIVE = ".connection[data-state='live']"


def _open_an_api_operation(page: Any) -> None:
    """The first operation opened, in "Try it out" mode (parameter fields, examples)."""
    page.locator(".opblock-summary-control").first.click()
    page.locator(".try-out__btn").first.click()
    page.wait_for_selector("tr[data-param-name] select[aria-label]", state="attached")


PAGES: list[PageSpec] = [
    PageSpec("login", (ANONYMOUS,), lambda d: reverse("login")),
    PageSpec("dashboard", ROLES, lambda d: reverse("plans:dashboard")),
    PageSpec("plan-list", MEMBERS, lambda d: reverse("plans:list")),
    PageSpec("plan-create", (COORDINATOR,), lambda d: reverse("plans:create")),
    PageSpec("plan", MEMBERS, _plan("plans:detail")),
    PageSpec("plan-edit", EDITORS, _plan("plans:edit")),
    PageSpec("theme-create", EDITORS, _plan("plans:theme_create")),
    PageSpec("theme-edit", EDITORS, _plan("plans:theme_edit", "theme")),
    PageSpec("theme-delete", (COORDINATOR,), _plan("plans:theme_delete", "theme")),
    PageSpec("goal-create", EDITORS, _plan("plans:goal_create", "theme")),
    PageSpec("goal-edit", EDITORS, _plan("plans:goal_edit", "goal")),
    PageSpec("goal-delete", (COORDINATOR,), _plan("plans:goal_delete", "goal")),
    PageSpec("measure-create", EDITORS, _plan("plans:measure_create", "theme")),
    PageSpec("measure-edit", EDITORS, _plan("plans:measure_edit", "measure")),
    PageSpec("measure-delete", (COORDINATOR,), _plan("plans:measure_delete", "measure")),
    PageSpec("members", (COORDINATOR,), _plan("plans:members")),
    PageSpec("member-edit", (COORDINATOR,), _plan("plans:member_edit", "member")),
    PageSpec("member-deactivate", (COORDINATOR,), _plan("plans:member_deactivate", "member")),
    PageSpec("consent", (COORDINATOR, PERSON), _plan("plans:consent")),
    PageSpec("access-log", (COORDINATOR, PERSON), _plan("plans:access_log")),
    PageSpec(
        "meeting-schedule", (COORDINATOR,), lambda d: reverse("meetings:create", args=[d.plan.pk])
    ),
    PageSpec("meeting-planned", MEMBERS, lambda d: reverse("meetings:detail", args=[d.planned.pk])),
    PageSpec(
        "meeting-edit", (COORDINATOR,), lambda d: reverse("meetings:edit", args=[d.planned.pk])
    ),
    PageSpec("meeting-closed", MEMBERS, lambda d: reverse("meetings:detail", args=[d.closed.pk])),
    PageSpec(
        "meeting-room", MEMBERS, lambda d: reverse("meetings:room", args=[d.running.pk]), ready=LIVE
    ),
    PageSpec(
        "meeting-close", (COORDINATOR,), lambda d: reverse("meetings:close", args=[d.running.pk])
    ),
    PageSpec(
        "meeting-record",
        MEMBERS,
        _maybe("records:record", "record"),
        missing="the demo has no meeting record (no closed meeting)",
    ),
    PageSpec("history", MEMBERS, lambda d: reverse("records:history", args=[d.plan.pk])),
    PageSpec(
        "history-revision",
        MEMBERS,
        lambda d: reverse("records:at_revision", args=[d.plan.pk, max(d.plan.revision // 2, 1)]),
    ),
    PageSpec("diff", MEMBERS, lambda d: reverse("records:diff", args=[d.plan.pk])),
    PageSpec(
        "field-history",
        MEMBERS,
        lambda d: reverse("records:field_history", args=[d.plan.pk, "goal", d.goal.pk, "text"]),
    ),
    PageSpec("comments", MEMBERS, lambda d: reverse("records:comments", args=[d.plan.pk])),
    PageSpec("my-tasks", (COORDINATOR, SPECIALIST, READER), lambda d: reverse("records:my_tasks")),
    PageSpec("my-plan", (PERSON,), lambda d: reverse("records:my_plan")),
    PageSpec("course-create", EDITORS, lambda d: reverse("courses:create", args=[d.plan.pk])),
    PageSpec(
        "course-edit",
        EDITORS,
        _maybe("courses:edit", "course", with_plan=True),
        missing="the demo plan has no treatment course",
    ),
    PageSpec(
        "course-delete",
        (COORDINATOR,),
        _maybe("courses:delete", "course", with_plan=True),
        missing="the demo plan has no treatment course",
    ),
    PageSpec("statistics", (LEADER,), lambda d: reverse("courses:statistics")),
    PageSpec(
        "api-docs",
        (COORDINATOR,),
        lambda d: reverse("api:docs"),
        ready="#swagger-ui .opblock",
        prepare=_open_an_api_operation,
    ),
]
PAGE_BY_KEY = {spec.key: spec for spec in PAGES}


def role_pages() -> list[Any]:
    """(role, page key) pairs as pytest params with readable ids, e.g. `reader-plan`."""
    return [
        pytest.param(role, spec.key, id=f"{role}-{spec.key}")
        for spec in PAGES
        for role in spec.roles
    ]


# ------------------------------------------------------------------------- the demo


@dataclass
class Demo:
    """The demo objects the pages are about (loaded before the browser starts)."""

    plan: Any
    theme: Any
    goal: Any
    measure: Any
    member: Any
    planned: Any
    closed: Any
    running: Any
    record: Any
    course: Any


@dataclass
class Site:
    """The running demo: where it is, who may log in, and every page's URL."""

    server: Server
    users: dict[str, Any]
    cookies: dict[str, dict]
    urls: dict[str, str | None]
    password: str
    names: dict[str, str] = field(default_factory=dict)

    def url(self, key: str) -> str:
        path = self.urls[key]
        if path is None:
            pytest.skip(PAGE_BY_KEY[key].missing or f"{key}: nothing in the demo to show")
        return self.server.url + path


def seed() -> dict:
    return json.loads((ROOT / "seeds" / "demo.json").read_text(encoding="utf-8"))


def role_usernames(data: dict) -> dict[str, str]:
    """The five roles, found in the seed: the first demo plan's coordinator, a member
    with edit access, a read-only member, the person, and the unit leader."""
    first = next(p for p in data["persons"] if p.get("user"))
    members = first["plan"].get("members", [])
    return {
        COORDINATOR: first["plan"]["coordinator"],
        SPECIALIST: next(m["user"] for m in members if m["access"] == "edit"),
        READER: next(m["user"] for m in members if m["access"] == "read"),
        PERSON: first["user"],
        LEADER: next(u["username"] for u in data["users"] if u.get("is_unit_leader")),
    }


def _running_meeting(plan: Any, coordinator: Any) -> Any:
    """A meeting in progress on the demo plan (the room and the close page need one).
    The demo's own planned meeting stays planned, for the planned-meeting pages."""
    from ipplan.meetings import services
    from ipplan.meetings.models import Meeting

    running = Meeting.objects.filter(plan=plan, status=Meeting.Status.IN_PROGRESS).first()
    if running is not None:
        return running
    meeting = services.meeting_schedule(
        plan_id=plan.pk,
        user=coordinator,
        scheduled_at=timezone.now() + datetime.timedelta(minutes=5),
        place="Møterom Fjorden",
    )
    return services.meeting_start(meeting_id=meeting.pk, user=coordinator)


def _comment_thread(plan: Any, goal: Any, users: dict[str, Any]) -> None:
    """One comment with a reply, so the comment pages show a thread (the demo has none)."""
    try:
        from ipplan.records import services
        from ipplan.records.models import Comment
    except ImportError:
        return
    if Comment.objects.filter(plan=plan).exists():
        return
    root = services.comment_create(
        plan_id=plan.pk,
        user=users[SPECIALIST],
        target_type="goal",
        target_id=goal.pk,
        body="Kan vi avtale visning av leiligheten før neste møte?",
    )
    services.comment_reply(
        comment_id=root.pk, user=users[COORDINATOR], body="Ja, jeg ringer utleier."
    )


def load_demo_objects(usernames: dict[str, str]) -> tuple[Demo, dict[str, Any], str]:
    from ipplan.accounts.models import User
    from ipplan.meetings.models import Meeting
    from ipplan.plans.models import Goal, Measure, Member, Plan, Theme

    out = io.StringIO()
    call_command("load_demo", stdout=out)
    password = seed()["password"]
    assert password in out.getvalue(), "load_demo prints the demo password"
    users = {role: User.objects.get(username=name) for role, name in usernames.items()}
    plan = Plan.objects.get(person__user=users[PERSON], status=Plan.Status.ACTIVE)
    goal = Goal.objects.alive().filter(plan=plan).order_by("theme__position", "position").first()
    theme = Theme.objects.get(pk=goal.theme_id)
    measure = Measure.objects.alive().filter(plan=plan).order_by("theme__position", "pk").first()
    member = Member.objects.get(plan=plan, user=users[SPECIALIST])
    closed = Meeting.objects.filter(plan=plan, status=Meeting.Status.CLOSED).first()
    planned = Meeting.objects.filter(plan=plan, status=Meeting.Status.PLANNED).first()
    running = _running_meeting(plan, users[COORDINATOR])
    _comment_thread(plan, goal, users)
    record = None
    if closed is not None:
        from ipplan.records import services as records

        record = records.record_for_meeting(meeting=closed)
    course = plan.courses.order_by("pk").first() if hasattr(plan, "courses") else None
    plan.refresh_from_db()
    demo = Demo(plan, theme, goal, measure, member, planned, closed, running, record, course)
    return demo, users, password


def flush_database() -> None:
    """What a transactional test does afterwards: empty every table (post_migrate puts
    content types and permissions back)."""
    allow_flush()
    try:
        call_command("flush", interactive=False, verbosity=0)
    finally:
        restore_append_only()


@pytest.fixture(scope="session", name="a11y_database")
def a11y_database_fixture(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The test database. pytest-django creates it only when some collected test asks
    for `db`; these suites commit their data themselves, so they make sure of it."""
    from django.test.utils import setup_databases, teardown_databases

    if connection.settings_dict["NAME"] == connection.creation._get_test_db_name():
        yield
        return
    with django_db_blocker.unblock():
        made = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        teardown_databases(made, verbosity=0)


@pytest.fixture(scope="module", name="site")
def site_fixture(
    a11y_database, django_db_blocker, chromium_path, tmp_path_factory
) -> Iterator[Site]:
    """The demo, committed to the test database, served by Daphne for this module."""
    if connection.vendor != "postgresql":
        pytest.skip("the browser tests run against PostgreSQL")
    usernames = role_usernames(seed())
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHING):
        restore_append_only()
        demo, users, password = load_demo_objects(usernames)
        urls = {spec.key: spec.url(demo) for spec in PAGES}
        db = connection.settings_dict
        server = Server(
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            tmp_path_factory.mktemp("daphne") / "daphne.log",
        )
        names = {role: user.display_name for role, user in users.items()}
    with django_db_blocker.unblock():
        # The person logs in through the form in one test: the server checks the
        # password with the real hasher, so theirs is stored with it. (Before the
        # sessions are made: a new password ends the sessions made before it.)
        users[PERSON].set_password(password)
        users[PERSON].save(update_fields=["password"])
        cookies = {role: _cookie(user, server.url) for role, user in users.items()}
    server.start()
    try:
        yield Site(server, users, cookies, urls, password, names)
    finally:
        server.stop()
        with django_db_blocker.unblock():
            flush_database()


def _cookie(user: Any, base_url: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}


# ---------------------------------------------------------------------- the browser


@pytest.fixture(scope="module", name="browser")
def browser_fixture(site: Site, chromium_path: str) -> Iterator[Any]:
    """One Chromium for the module, started after every database step of `site`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Norwegian date fields (dd.mm.åååå) as the users see them: Chromium takes its
        # locale from the environment (and needs Debian's chromium-l10n for it).
        norwegian = {"LANGUAGE": "nb_NO:nb", "LANG": "nb_NO.UTF-8", "LC_ALL": "nb_NO.UTF-8"}
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, env={**os.environ, **norwegian}
        )
        yield chromium
        chromium.close()


class Contexts:
    """One browser context (its own cookies: a person of its own) per role and viewport."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.browser = browser
        self.site = site
        self.open: dict[tuple[str, int], Any] = {}

    def get(self, role: str, width: int = 1280, height: int = 900) -> Any:
        key = (role, width)
        if key not in self.open:
            context = self.browser.new_context(
                viewport={"width": width, "height": height},
                locale="nb-NO",
                timezone_id="Europe/Oslo",
            )
            # Generous: the machine running the suite may be busy with other work.
            context.set_default_timeout(20000)
            context.set_default_navigation_timeout(45000)
            if role != ANONYMOUS:
                context.add_cookies([self.site.cookies[role]])
            self.open[key] = context
        return self.open[key]

    def page(self, role: str, key: str, *, width: int = 1280, height: int = 900) -> Any:
        """A new tab for `role` on the page `key`, loaded and ready; fails on an error status."""
        spec = PAGE_BY_KEY[key]
        page = self.get(role, width, height).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(self.site.url(key), wait_until="load")
        assert response is not None and response.status == 200, (
            f"{role} could not open {key}: HTTP {response and response.status} at {page.url}"
        )
        wanted = urlsplit(self.site.url(key)).path
        assert urlsplit(page.url).path == wanted, f"{role} on {key} was sent to {page.url}"
        if spec.ready:
            # The meeting room keeps its socket busy (heartbeats): wait for what it shows.
            page.wait_for_selector(spec.ready, state="attached", timeout=30000)
        else:
            page.wait_for_load_state("networkidle")
        if spec.prepare:
            spec.prepare(page)
        assert not errors, f"script errors on {key}: {errors}"
        return page

    def close(self) -> None:
        for context in self.open.values():
            context.close()
        self.open.clear()


@pytest.fixture(scope="module", name="contexts")
def contexts_fixture(browser: Any, site: Site) -> Iterator[Contexts]:
    made = Contexts(browser, site)
    yield made
    made.close()


# --------------------------------------------------------------------------- axe-core


def run_axe(page: Any) -> list[dict]:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page as it is now.

    axe is loaded from our own static files (same origin), which the site's CSP allows;
    an inline script would be refused."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE)
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}); "
        "return r.violations; }",
        AXE_TAGS,
    )
    return result


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v.get("impact") in BLOCKING]


def describe(violations: list[dict], *, limit: int = 8) -> str:
    """Violations as text a person can act on: rule, impact, what, where, why."""
    lines = []
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s))")
        lines.append(f"    {v['helpUrl']}")
        for node in v["nodes"][:limit]:
            target = " > ".join(str(t) for t in node.get("target", []))
            lines.append(f"    at {target}")
            lines.append(f"       {node.get('html', '')[:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n         ")
            if summary:
                lines.append(f"         {summary}")
        if len(v["nodes"]) > limit:
            lines.append(f"    … and {len(v['nodes']) - limit} more")
    return "\n".join(lines)


# ------------------------------------------------------------------------ page facts


def tab_to(page: Any, selector: str, limit: int = 200) -> None:
    """Press Tab until `selector` has focus; fails if the keyboard cannot reach it."""
    for _ in range(limit):
        if page.evaluate("(s) => !!document.activeElement?.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def horizontal_overflow(page: Any) -> dict:
    """How far the page is wider than the viewport, and the widest visible offenders."""
    return page.evaluate(
        """() => {
          const vw = document.documentElement.clientWidth;
          const offenders = [];
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;
            if (r.right > vw + 1 || r.left < -1) {
              const style = getComputedStyle(el);
              // Visually hidden text (1px, clipped) and off-screen skip links are fine.
              if (r.width <= 1 || style.position === 'absolute' && r.bottom < 0) continue;
              const inside = el.parentElement && el.parentElement.closest('[data-offender]');
              if (inside) continue;
              el.setAttribute('data-offender', '');
              const id = el.id ? '#' + el.id : '';
              const cls = el.className && typeof el.className === 'string'
                ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
              const right = Math.round(r.right);
              offenders.push(`${el.tagName.toLowerCase()}${id}${cls} (right ${right}px)`);
            }
          }
          return {
            viewport: vw,
            scrollWidth: document.documentElement.scrollWidth,
            bodyOverflowX: getComputedStyle(document.body).overflowX,
            htmlOverflowX: getComputedStyle(document.documentElement).overflowX,
            offenders: offenders.slice(0, 10),
          };
        }"""
    )


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


def in_ci() -> bool:
    return bool(os.environ.get("CI"))
