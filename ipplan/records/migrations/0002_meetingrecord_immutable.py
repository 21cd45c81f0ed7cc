"""A meeting record is frozen in the database itself, not just in the ORM: UPDATE and
DELETE fail for every client, including raw SQL and the admin. (TRUNCATE is left to
the table owner, so test databases can still be flushed.)"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION ipplan_meetingrecord_frozen() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'records_meetingrecord is immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER records_meetingrecord_frozen BEFORE UPDATE OR DELETE ON records_meetingrecord
    FOR EACH ROW EXECUTE FUNCTION ipplan_meetingrecord_frozen();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS records_meetingrecord_frozen ON records_meetingrecord;
DROP FUNCTION IF EXISTS ipplan_meetingrecord_frozen();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER records_meetingrecord_no_update BEFORE UPDATE ON records_meetingrecord
       BEGIN SELECT RAISE(ABORT, 'records_meetingrecord is immutable'); END;""",
    """CREATE TRIGGER records_meetingrecord_no_delete BEFORE DELETE ON records_meetingrecord
       BEGIN SELECT RAISE(ABORT, 'records_meetingrecord is immutable'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS records_meetingrecord_no_update;",
    "DROP TRIGGER IF EXISTS records_meetingrecord_no_delete;",
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
    dependencies = [("records", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
