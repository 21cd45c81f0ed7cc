"""The access log (innsynslogg) is append-only in the database itself, not just in
the ORM: UPDATE and DELETE fail for every client, including raw SQL and the admin."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION ipplan_accesslog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'plans_accesslog is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER plans_accesslog_no_update BEFORE UPDATE OR DELETE ON plans_accesslog
    FOR EACH ROW EXECUTE FUNCTION ipplan_accesslog_append_only();
CREATE TRIGGER plans_accesslog_no_truncate BEFORE TRUNCATE ON plans_accesslog
    FOR EACH STATEMENT EXECUTE FUNCTION ipplan_accesslog_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS plans_accesslog_no_update ON plans_accesslog;
DROP TRIGGER IF EXISTS plans_accesslog_no_truncate ON plans_accesslog;
DROP FUNCTION IF EXISTS ipplan_accesslog_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER plans_accesslog_no_update BEFORE UPDATE ON plans_accesslog
       BEGIN SELECT RAISE(ABORT, 'plans_accesslog is append-only'); END;""",
    """CREATE TRIGGER plans_accesslog_no_delete BEFORE DELETE ON plans_accesslog
       BEGIN SELECT RAISE(ABORT, 'plans_accesslog is append-only'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS plans_accesslog_no_update;",
    "DROP TRIGGER IF EXISTS plans_accesslog_no_delete;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
