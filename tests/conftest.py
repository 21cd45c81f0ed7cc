"""Named personas shared by the whole suite.

- coordinator: Kari Koordinator, Mestringsenheten; coordinates Per's plan.
- specialist:  Siv Spesialist, DPS/TSB; member with edit access, covered by consent.
- commenter:   Nils NAV; member with comment access, covered by consent.
- reader:      Frida Fastlege; read-only member, covered by consent.
- person:      Per Person; the plan is his; he logs in to see it.
- outsider:    Ola Utenfor; a colleague with an account but no part in the plan.
- leader:      Lene Leder; unit leader, sees statistics only.
"""

import copy
import datetime
import os

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission

from ipplan.accounts.models import Organisation, User
from ipplan.plans import services
from ipplan.plans.models import Consent, Member, Person, Plan, ThemeTemplate

DEFAULT_THEMES = [
    ("bolig", "Bolig"),
    ("aktivitet", "Meningsfull aktivitet"),
    ("okonomi", "Økonomi"),
    ("fysisk-helse", "Fysisk helse"),
    ("psykisk-helse", "Psykisk helse"),
    ("rus", "Rusmiddelbruk"),
    ("nettverk", "Sosial fungering og nettverk"),
]
PASSWORD = "demo-passord-123"


@pytest.fixture(autouse=True, scope="session")
def _english_msgids():
    """Tests read the English msgids the code is written with: the project's nb catalogue
    is left out, while the language stays nb (dates, Django's own texts). The catalogue
    and pages in Norwegian are checked by tests/test_i18n.py (fixture `norwegian`)."""
    from django.test import override_settings

    with override_settings(LOCALE_PATHS=[]):
        yield


def _channels_of_our_own() -> None:
    """Redis pub/sub channels are global to the server, whatever the database number:
    two test processes on one Redis (pytest-xdist workers, or a second run on the same
    machine) would hear each other's plan groups, which share names because each test
    database counts ids from 1. Each test process, and every server it starts (they
    inherit the environment), gets a channel prefix of its own."""
    prefix = f"ipplan-test-{os.getpid()}"
    os.environ["IPPLAN_CHANNEL_PREFIX"] = prefix
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    if "prefix" in layers["default"].get("CONFIG", {}):
        layers["default"]["CONFIG"]["prefix"] = prefix
        settings.CHANNEL_LAYERS = layers


_channels_of_our_own()

_HASHES: dict[tuple[str, ...], str] = {}


def password_hash() -> str:
    # Hashing with the production hasher costs ~0.5 s; the personas share one hash so a
    # test pays it only when it really logs in with the password. Keyed by the hasher
    # list, since some test modules switch to a fast hasher and a hash made under one
    # list may not verify under another.
    hashers = tuple(settings.PASSWORD_HASHERS)
    if hashers not in _HASHES:
        _HASHES[hashers] = make_password(PASSWORD)
    return _HASHES[hashers]


def make_user(
    username: str, first: str, last: str, org: Organisation | None = None, **extra
) -> User:
    user = User(username=username, first_name=first, last_name=last, organisation=org, **extra)
    user.password = password_hash()
    user.save()
    return user


@pytest.fixture
def theme_templates(db):
    for index, (code, title) in enumerate(DEFAULT_THEMES):
        ThemeTemplate.objects.get_or_create(code=code, defaults={"title": title, "position": index})


@pytest.fixture
def orgs(db):
    return {
        "unit": Organisation.objects.create(name="Mestringsenheten", kind="Kommune"),
        "dps": Organisation.objects.create(
            name="DPS Rus og avhengighet", kind="Spesialisthelsetjeneste"
        ),
        "nav": Organisation.objects.create(name="NAV Sentrum", kind="NAV"),
        "gp": Organisation.objects.create(name="Sentrum legekontor", kind="Fastlege"),
    }


@pytest.fixture
def coordinator(orgs):
    user = make_user("kari", "Kari", "Koordinator", orgs["unit"])
    user.user_permissions.add(Permission.objects.get(codename="add_plan"))
    return User.objects.get(pk=user.pk)  # fresh, so the permission cache is empty


@pytest.fixture
def specialist(orgs):
    return make_user("siv", "Siv", "Spesialist", orgs["dps"])


@pytest.fixture
def commenter(orgs):
    return make_user("nils", "Nils", "NAV", orgs["nav"])


@pytest.fixture
def reader(orgs):
    return make_user("frida", "Frida", "Fastlege", orgs["gp"])


@pytest.fixture
def person_user(db):
    return make_user("per", "Per", "Person")


@pytest.fixture
def outsider(orgs):
    return make_user("ola", "Ola", "Utenfor", orgs["unit"])


@pytest.fixture
def leader(orgs):
    return make_user("lene", "Lene", "Leder", orgs["unit"], is_unit_leader=True)


def add_member(
    plan: Plan,
    coordinator: User,
    user: User,
    org: Organisation,
    access: str,
    *,
    active_from: datetime.date,
) -> services.OpResult:
    """A specialist member of `org` added by the coordinator (through the services)."""
    return services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="member",
        values={
            "user": user.pk,
            "role": Member.Role.SPECIALIST,
            "organisation": org.pk,
            "service": org.name,
            "access": access,
            "active_from": active_from,
        },
    )


@pytest.fixture
def plan(theme_templates, coordinator, specialist, commenter, reader, person_user, orgs) -> Plan:
    """Per's active plan: seven default themes, members with consent, one goal, one measure."""
    person = Person.objects.create(
        first_name="Per",
        last_name="Person",
        birth_date=datetime.date(1990, 5, 17),
        user=person_user,
    )
    today = datetime.date.today()
    plan = services.plan_create(
        person=person,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=today - datetime.timedelta(days=60),
        period_end=today + datetime.timedelta(days=365),
        status=Plan.Status.ACTIVE,
    )
    members = []
    for user, org, access in [
        (specialist, orgs["dps"], Member.Access.EDIT),
        (commenter, orgs["nav"], Member.Access.COMMENT),
        (reader, orgs["gp"], Member.Access.READ),
    ]:
        result = add_member(
            plan, coordinator, user, org, access, active_from=today - datetime.timedelta(days=30)
        )
        members.append(Member.objects.get(pk=result.result["id"]))
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
        scope="Opplysninger som trengs for å gjennomføre planen.",
    )
    theme = plan.themes.get(title="Bolig")
    goal = services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="goal",
        values={
            "theme": theme.pk,
            "level": "main",
            "text": "Egen leilighet",
            "success_criterion": "Har signert leiekontrakt",
            "evaluation_date": today + datetime.timedelta(days=90),
            "status": "in_progress",
            "expressed_by": "Per",
        },
    )
    services.object_create(
        plan_id=plan.pk,
        user=coordinator,
        target="measure",
        values={
            "theme": theme.pk,
            "goal": goal.result["id"],
            "description": "Søke kommunal bolig",
            "responsible": members[1].pk,
            "start_date": today,
            "due_date": today + datetime.timedelta(days=30),
            "status": "ongoing",
        },
    )
    return Plan.objects.get(pk=plan.pk)


@pytest.fixture
def other_plan(theme_templates, coordinator) -> Plan:
    """Another person's plan, also coordinated by Kari, with no other members."""
    person = Person.objects.create(
        first_name="Anna", last_name="Annen", birth_date=datetime.date(1985, 1, 2)
    )
    return services.plan_create(
        person=person,
        coordinator=coordinator,
        created_by=coordinator,
        period_start=datetime.date.today(),
        status=Plan.Status.ACTIVE,
    )
