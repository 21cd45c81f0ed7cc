"""The access log refuses DELETE and TRUNCATE (migration plans/0002), which is what it
should do, but a transactional test database is emptied with TRUNCATE (PostgreSQL) or
DELETE (SQLite) after each test. These helpers lift the guard for that flush only and
put it back at once, so tests that check the guard still see it."""

from django.db import connection

PG_TRIGGER = "plans_accesslog_no_truncate"
SQLITE_DELETE_TRIGGER = """CREATE TRIGGER IF NOT EXISTS plans_accesslog_no_delete
    BEFORE DELETE ON plans_accesslog
    BEGIN SELECT RAISE(ABORT, 'plans_accesslog is append-only'); END;"""


def allow_flush() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE plans_accesslog DISABLE TRIGGER {PG_TRIGGER}")
        elif connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS plans_accesslog_no_delete")


def restore_append_only() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE plans_accesslog ENABLE TRIGGER {PG_TRIGGER}")
        elif connection.vendor == "sqlite":
            cursor.execute(SQLITE_DELETE_TRIGGER)
