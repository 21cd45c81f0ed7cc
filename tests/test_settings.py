"""ipplan/settings.py reads its configuration from environment variables. Each test
imports the settings in a fresh interpreter with exactly the variables it names."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "ipplan" / "settings.py").read_text(encoding="utf-8")


def variables_read_by_settings() -> set[str]:
    pattern = r"""(?:environ\.get|getenv|env_bool|env_int)\(\s*["']([A-Z0-9_]+)["']"""
    found = set(re.findall(pattern, SETTINGS_SOURCE))
    return found | set(re.findall(r"""environ\[\s*["']([A-Z0-9_]+)["']\s*\]""", SETTINGS_SOURCE))


# Everything the settings read; the calling shell's values must not leak into a test.
CONFIG_VARS = variables_read_by_settings()
REPORT = """
import json
from django.conf import settings as s
from ipplan import settings as raw
db = s.DATABASES["default"]
print(json.dumps({
    "DEBUG": s.DEBUG,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "USER": db.get("USER"),
    "HOST": db.get("HOST"), "PORT": db.get("PORT"), "CONN_MAX_AGE": db.get("CONN_MAX_AGE"),
    "LAYER": s.CHANNEL_LAYERS["default"]["BACKEND"],
    "LAYER_CONFIG": s.CHANNEL_LAYERS["default"].get("CONFIG"),
    "DEV_SECRET": s.SECRET_KEY == raw._DEV_SECRET,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_PROXY_SSL_HEADER": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
    "SESSION_COOKIE_AGE": s.SESSION_COOKIE_AGE,
    "LOG_LEVEL": s.LOGGING["root"]["level"],
}))
"""


def run_settings(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    environ.update(env)
    environ["DJANGO_SETTINGS_MODULE"] = "ipplan.settings"
    return subprocess.run(
        [sys.executable, "-c", REPORT],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(**env: str) -> dict:
    proc = run_settings(**env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("hosts", ["*", "ipplan.example.no,*", " * "])
def test_a_wildcard_in_allowed_hosts_is_refused(hosts):
    proc = run_settings(ALLOWED_HOSTS=hosts)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "ALLOWED_HOSTS" in proc.stderr


def test_allowed_hosts_and_trusted_origins_are_comma_separated_lists():
    s = load_settings(
        ALLOWED_HOSTS=" ipplan.example.no , www.ipplan.example.no ,",
        CSRF_TRUSTED_ORIGINS="https://ipplan.example.no, https://www.ipplan.example.no",
    )
    assert s["ALLOWED_HOSTS"] == ["ipplan.example.no", "www.ipplan.example.no"]
    assert s["CSRF_TRUSTED_ORIGINS"] == [
        "https://ipplan.example.no",
        "https://www.ipplan.example.no",
    ]


def test_the_embedded_default_is_sqlite_in_var_and_an_in_memory_layer():
    s = load_settings()
    assert s["ENGINE"] == "django.db.backends.sqlite3"
    assert s["NAME"] == str(ROOT / "var" / "ipplan.sqlite3")
    assert s["LAYER"] == "channels.layers.InMemoryChannelLayer"
    assert s["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "testserver"]
    assert s["DEV_SECRET"] and not s["DEBUG"]


def test_database_url_selects_postgresql_with_its_parts():
    s = load_settings(
        DATABASE_URL="postgres://ipplan:s3cret@db.internal:6543/ipplan_prod", DB_CONN_MAX_AGE="60"
    )
    assert s["ENGINE"] == "django.db.backends.postgresql"
    assert (s["NAME"], s["USER"], s["HOST"], s["PORT"]) == (
        "ipplan_prod",
        "ipplan",
        "db.internal",
        6543,
    )
    assert s["CONN_MAX_AGE"] == 60


def test_redis_url_selects_the_redis_pubsub_channel_layer():
    s = load_settings(REDIS_URL="redis://cache.internal:6380/2")
    assert s["LAYER"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert s["LAYER_CONFIG"]["hosts"][0]["address"] == "redis://cache.internal:6380/2"
    assert s["LAYER_CONFIG"]["prefix"] == "asgi"


def test_a_channel_prefix_keeps_deployments_on_one_redis_apart():
    s = load_settings(REDIS_URL="redis://cache.internal:6380/2", IPPLAN_CHANNEL_PREFIX="ipplan-b")
    assert s["LAYER_CONFIG"]["prefix"] == "ipplan-b"


def test_https_turns_on_secure_cookies_hsts_and_redirects():
    off = load_settings()
    assert not off["SESSION_COOKIE_SECURE"] and not off["SECURE_SSL_REDIRECT"]
    assert off["SECURE_HSTS_SECONDS"] == 0
    on = load_settings(IPPLAN_HTTPS="1")
    assert on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"] and on["SECURE_SSL_REDIRECT"]
    assert on["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("on", True), ("0", False), ("no", False), ("", False)],
)
def test_debug_is_off_unless_asked_for(value, expected):
    assert load_settings(DEBUG=value)["DEBUG"] is expected


def test_secret_key_session_age_and_log_level_come_from_the_environment():
    s = load_settings(SECRET_KEY="x" * 60, SESSION_COOKIE_AGE="1800", LOG_LEVEL="WARNING")
    assert not s["DEV_SECRET"]
    assert s["SESSION_COOKIE_AGE"] == 1800
    assert s["LOG_LEVEL"] == "WARNING"


def test_every_variable_the_settings_read_is_in_the_readme_table():
    read = variables_read_by_settings()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= read  # the pattern still matches
    table = (ROOT / "README.md").read_text(encoding="utf-8").split("## Configuration", 1)[1]
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.MULTILINE))
    assert read - documented == set(), "add these to the configuration table in README.md"
