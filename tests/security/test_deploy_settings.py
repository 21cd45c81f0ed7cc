"""The production configuration: `check --deploy` passes for it and fails for the demo.

Each test starts a fresh interpreter, because settings are read from the environment
once, at start-up, exactly as in production."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Everything the settings read: the calling shell's values must not leak into a test.
CONFIG_VARS = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "IPPLAN_HTTPS",
    "AXES_ENABLED",
    "IPPLAN_LOGIN_FAILURE_LIMIT",
    "IPPLAN_LOGIN_COOLOFF_MINUTES",
    "IPPLAN_ADMIN_REQUIRE_OTP",
    "IPPLAN_OTP_ISSUER",
}


def base_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in CONFIG_VARS and not k.startswith(("DJANGO_", "PYTEST"))
    } | {"DJANGO_SETTINGS_MODULE": "ipplan.settings"}


def production_env(**overrides: str) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(64),
            "IPPLAN_HTTPS": "1",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "ipplan.example.no",
            "DATABASE_URL": os.environ.get(
                "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ipplan"
            ),
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    env.update(overrides)
    return env


def demo_env() -> dict[str, str]:
    return base_env()


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)


def test_check_deploy_passes_for_the_production_configuration():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_for_the_demo_defaults_and_names_each_gap():
    result = check_deploy(demo_env())
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for check_id in ("ipplan.W001", "ipplan.W002", "ipplan.W003", "ipplan.W004", "ipplan.W005"):
        assert check_id in output
    for check_id in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check_id in output


@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"SECRET_KEY": ""}, "security.W009"),
        ({"AXES_ENABLED": "0"}, "ipplan.W006"),
        ({"IPPLAN_ADMIN_REQUIRE_OTP": "0"}, "ipplan.W007"),
        ({"DEBUG": "1"}, "security.W018"),
    ],
)
def test_check_deploy_fails_when_one_protection_is_switched_off(override, check_id):
    env = production_env(**override)
    if override.get("SECRET_KEY") == "":
        env["SECRET_KEY"] = "short"
    result = check_deploy(env)
    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr


def test_production_cookies_are_https_only_and_hsts_is_on():
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SESSION_COOKIE_NAME', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'DEBUG', 'X_FRAME_OPTIONS']}))"
    )
    result = run(["-c", script], production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["DEBUG"] is False
    assert values["X_FRAME_OPTIONS"] == "DENY"


def test_debug_is_off_unless_asked_for():
    script = (
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    )
    result = run(["-c", script], demo_env())
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_a_wildcard_in_allowed_hosts_is_refused_at_start_up():
    script = "import django; django.setup()"
    result = run(["-c", script], production_env(ALLOWED_HOSTS="ipplan.example.no,*"))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr
