"""Seed and read a fault test's private database, from a separate process.

The fault tests run ipplan in real server processes on a private PostgreSQL cluster;
the pytest process itself stays connected to the suite's own test database. So the
set-up and the final checks that need the ORM run here, as
`python -m tests.faults.control <command>` with DATABASE_URL pointing at the private
database, and print JSON.

    seed  --plans N --editors K [--spare-sessions S]
        N plans, each with an in-progress meeting (ansvarsgruppemøte) and K users who
        may edit it (the coordinator and K-1 specialists with consent). Prints plans,
        meetings, users and one session cookie per (plan, editor), plus S spare ones.
    state --plan ID [--plan ID ...]
        Per plan: the revision, the live snapshot's state and the change log (op ids).
    end-membership --plan ID --user ID      (the coordinator ends it, through services)
    withdraw-consent --plan ID              (the sharing consent, through services)
    expire-consent --plan ID                (its expiry date has passed)
    expire-session --session KEY            (the session's age has run out)
    change-password --user ID               (other sessions of the user end)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from typing import Any

THEMES = [
    ("bolig", "Bolig"),
    ("aktivitet", "Meningsfull aktivitet"),
    ("okonomi", "Økonomi"),
    ("fysisk-helse", "Fysisk helse"),
    ("psykisk-helse", "Psykisk helse"),
    ("rus", "Rusmiddelbruk"),
    ("nettverk", "Sosial fungering og nettverk"),
]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipplan.settings")
    import django

    django.setup()


def _session(user: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def seed(plans: int, editors: int, spare_sessions: int) -> dict[str, Any]:
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from ipplan.accounts.models import Organisation, User
    from ipplan.meetings import services as meetings
    from ipplan.plans import services
    from ipplan.plans.models import Consent, Member, Person, ThemeTemplate

    for index, (code, title) in enumerate(THEMES):
        ThemeTemplate.objects.get_or_create(code=code, defaults={"title": title, "position": index})
    unit = Organisation.objects.create(name="Mestringsenheten", kind="Kommune")
    dps = Organisation.objects.create(name="DPS Rus og avhengighet", kind="Spesialisthelsetjeneste")
    add_plan = Permission.objects.get(codename="add_plan")
    today = timezone.localdate()
    out: dict[str, Any] = {"plans": []}
    for p in range(plans):
        coordinator = User.objects.create(
            username=f"koordinator{p}",
            first_name="Kari",
            last_name=f"Koordinator {p}",
            organisation=unit,
        )
        coordinator.set_unusable_password()
        coordinator.save()
        coordinator.user_permissions.add(add_plan)
        coordinator = User.objects.get(pk=coordinator.pk)
        person = Person.objects.create(
            first_name="Per", last_name=f"Person {p}", birth_date=datetime.date(1990, 5, 17)
        )
        plan = services.plan_create(
            person=person,
            coordinator=coordinator,
            created_by=coordinator,
            period_start=today - datetime.timedelta(days=60),
            period_end=today + datetime.timedelta(days=365),
            status="active",
        )
        users = [coordinator]
        members = []
        for e in range(1, editors):
            user = User.objects.create(
                username=f"spesialist{p}_{e}",
                first_name="Siv",
                last_name=f"Spesialist {p}.{e}",
                organisation=dps,
            )
            result = services.object_create(
                plan_id=plan.pk,
                user=coordinator,
                target="member",
                values={
                    "user": user.pk,
                    "role": "specialist",
                    "organisation": dps.pk,
                    "service": dps.name,
                    "access": "edit",
                    "active_from": today - datetime.timedelta(days=30),
                },
            )
            members.append(Member.objects.get(pk=result.result["id"]))
            users.append(user)
        services.consent_record(
            plan_id=plan.pk,
            user=coordinator,
            kind=Consent.Kind.PLAN,
            given_on=today - datetime.timedelta(days=30),
        )
        services.consent_record(
            plan_id=plan.pk,
            user=coordinator,
            kind=Consent.Kind.SHARING,
            given_on=today - datetime.timedelta(days=30),
            members=members,
        )
        meeting = meetings.meeting_schedule(
            plan_id=plan.pk, user=coordinator, scheduled_at=timezone.now(), place="Møterom 2"
        )
        meetings.meeting_start(meeting_id=meeting.pk, user=coordinator)
        theme = plan.themes.order_by("position").first()
        out["plans"].append(
            {
                "id": plan.pk,
                "meeting": meeting.pk,
                "theme": theme.pk,
                "users": [
                    {
                        "id": u.pk,
                        "username": u.username,
                        "member": Member.objects.get(plan=plan, user=u).pk,
                        "sessions": [_session(u) for _ in range(1 + spare_sessions)],
                    }
                    for u in users
                ],
            }
        )
    return out


def state(plan_ids: list[int]) -> dict[str, Any]:
    from ipplan.live.snapshot import plan_snapshot
    from ipplan.plans.models import Change

    out = {}
    for plan_id in plan_ids:
        revision, plan_state = plan_snapshot(plan_id)
        log = list(
            Change.objects.filter(plan_id=plan_id)
            .order_by("revision")
            .values_list("revision", "op_id", "user_id", "kind", "target_type", "field")
        )
        out[str(plan_id)] = {"rev": revision, "state": plan_state, "log": log}
    return out


def act(action: str, args: argparse.Namespace) -> dict[str, Any]:
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from ipplan.accounts.models import User
    from ipplan.plans import services
    from ipplan.plans.models import Consent, Member, Plan

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    if action == "end-membership":
        plan = Plan.objects.get(pk=args.plan)
        member = Member.objects.get(plan=plan, user_id=args.user)
        services.object_update(
            plan_id=plan.pk,
            user=plan.coordinator,
            target="member",
            target_id=member.pk,
            values={"active_from": member.active_from, "active_to": yesterday},
        )
    elif action == "withdraw-consent":
        plan = Plan.objects.get(pk=args.plan)
        consent = Consent.objects.get(plan=plan, kind=Consent.Kind.SHARING)
        services.consent_withdraw(plan_id=plan.pk, user=plan.coordinator, consent_id=consent.pk)
    elif action == "expire-consent":
        # The calendar moving past the expiry date, not an edit: no service call, no
        # notification. Only the sockets' own periodic check can notice.
        Consent.objects.filter(plan_id=args.plan, kind=Consent.Kind.SHARING).update(
            expires_on=yesterday
        )
    elif action == "expire-session":
        Session.objects.filter(session_key=args.session).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=1)
        )
    elif action == "change-password":
        user = User.objects.get(pk=args.user)
        user.set_password("et-nytt-langt-passord-2026")
        user.save(update_fields=["password"])
    # CLOCK_MONOTONIC is system-wide: the test compares it with its own clock.
    return {"done": action, "at": time.monotonic()}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="tests.faults.control")
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--plans", type=int, default=3)
    p_seed.add_argument("--editors", type=int, default=4)
    p_seed.add_argument("--spare-sessions", type=int, default=0)
    p_state = sub.add_parser("state")
    p_state.add_argument("--plan", type=int, action="append", required=True)
    for name in ("end-membership", "withdraw-consent", "expire-consent"):
        p_act = sub.add_parser(name)
        p_act.add_argument("--plan", type=int, required=True)
        p_act.add_argument("--user", type=int)
    sub.add_parser("expire-session").add_argument("--session", required=True)
    sub.add_parser("change-password").add_argument("--user", type=int, required=True)
    args = parser.parse_args(argv)
    _setup()
    if args.command == "seed":
        result = seed(args.plans, args.editors, args.spare_sessions)
    elif args.command == "state":
        result = state(args.plan)
    else:
        result = act(args.command, args)
    json.dump(result, sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
