"""The access log (innsynslogg) is append-only in the database itself: UPDATE, DELETE
and TRUNCATE fail for every client, raw SQL included (plans migration 0002)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from ipplan.plans import services
from ipplan.plans.models import AccessLog

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def entry(plan, reader):
    services.record_access(user=reader, plan=plan, via=AccessLog.Via.PAGE)
    return AccessLog.objects.filter(plan=plan, user=reader).latest("pk")


def refused(sql: str, params: list | None = None) -> bool:
    """True if the database refuses the statement (in a savepoint, so the test goes on)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Check this test's deferred foreign keys now: PostgreSQL refuses TRUNCATE
                # while such checks are pending, and we want to see *our* refusal.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql, params or [])
    except DatabaseError as error:
        assert "append-only" in str(error)
        return True
    return False


def test_new_entries_can_be_added(plan, reader):
    before = AccessLog.objects.count()
    services.record_access(user=reader, plan=plan, via=AccessLog.Via.API)
    assert AccessLog.objects.count() == before + 1


def test_raw_update_is_refused(entry):
    assert refused("UPDATE plans_accesslog SET via = 'api' WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.via == AccessLog.Via.PAGE


def test_raw_update_of_the_reader_is_refused(entry, outsider):
    assert refused("UPDATE plans_accesslog SET user_id = %s", [outsider.pk])
    assert not AccessLog.objects.filter(user=outsider).exists()


def test_raw_delete_is_refused(entry):
    assert refused("DELETE FROM plans_accesslog WHERE id = %s", [entry.pk])
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_deleting_everything_is_refused(entry):
    assert refused("DELETE FROM plans_accesslog")
    assert AccessLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_refused(entry):
    assert refused("TRUNCATE plans_accesslog")
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_orm_bulk_update_and_delete_are_refused(entry):
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).update(detail="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.detail == ""


def test_the_model_refuses_to_save_or_delete_an_existing_entry(entry):
    entry.via = AccessLog.Via.API
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


SQLITE_SCRIPT = textwrap.dedent(
    """
    import datetime, json
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import DatabaseError, connection, transaction
    call_command("migrate", verbosity=0)
    from ipplan.accounts.models import User
    from ipplan.plans import services
    from ipplan.plans.models import AccessLog, Person
    from django.contrib.auth.models import Permission
    kari = User.objects.create_user(username="kari", password="x")
    kari.user_permissions.add(Permission.objects.get(codename="add_plan"))
    kari = User.objects.get(pk=kari.pk)
    person = Person.objects.create(
        first_name="Per", last_name="Person", birth_date=datetime.date(1990, 5, 17)
    )
    plan = services.plan_create(
        person=person, coordinator=kari, created_by=kari, period_start=datetime.date.today()
    )
    services.record_access(user=kari, plan=plan, via="page")
    results = {}
    for name, sql in [
        ("update", "UPDATE plans_accesslog SET via = 'api'"),
        ("delete", "DELETE FROM plans_accesslog"),
    ]:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
            results[name] = "allowed"
        except DatabaseError as error:
            results[name] = str(error)
    results["rows"] = list(AccessLog.objects.values_list("via", flat=True))
    results["vendor"] = connection.vendor
    print(json.dumps(results))
    """
)


def test_on_sqlite_update_and_delete_are_refused_too(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="ipplan.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'ipplan.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["vendor"] == "sqlite"
    assert "append-only" in outcome["update"]
    assert "append-only" in outcome["delete"]
    assert outcome["rows"] == ["page"]
