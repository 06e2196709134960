"""Settings read from the environment: refusals, defaults and a clean deploy check."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Variables of the test process itself that must not leak into the checked process.
TEST_ONLY = {"DJANGO_ALLOW_ASYNC_UNSAFE"}
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k7#Qz!m2Lp9@Xv4$Rt8^Wn3&Yb6*Hc1(Jd5)Fg0-Sa2+Ue7=Io4_Pq9;Zx3",
    "ALLOWED_HOSTS": "portal.example.org",
    "SECURE_COOKIES": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION.keys() | TEST_ONLY}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def settings_value(expression, env):
    """`repr()` of an expression over `settings`, evaluated in a fresh process."""
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings'; "
        f"django.setup(); from django.conf import settings; print(repr({expression}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION.keys() | TEST_ONLY}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = manage("check", env={"DEBUG": "0", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_uses_a_development_key_only_with_debug():
    result = manage("check", env={"DEBUG": "1", "SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_insecure_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env={**PRODUCTION, "SECURE_COOKIES": "0"})
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stdout + result.stderr


def test_it_defaults_to_sqlite_under_var():
    result = settings_value("settings.DATABASES['default']['NAME']",
                            env={"DEBUG": "1", "DATABASE_URL": "", "VAR_DIR": ""})
    assert result.returncode == 0, result.stderr
    assert "/var/portal.sqlite3" in result.stdout


def test_it_reads_postgres_from_database_url():
    result = settings_value(
        "(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'])",
        env={"DEBUG": "1", "DATABASE_URL": "postgres://u@db.example:5432/portal"},
    )
    assert "postgresql" in result.stdout and "'portal'" in result.stdout


def test_tasks_run_eagerly_without_a_broker_and_on_workers_with_one():
    expression = "settings.CELERY_TASK_ALWAYS_EAGER"
    eager = settings_value(expression, env={"DEBUG": "1", "CELERY_BROKER_URL": ""})
    real = settings_value(expression, env={"DEBUG": "1", "CELERY_BROKER_URL": "redis://x:6379/0"})
    assert eager.stdout.strip() == "True"
    assert real.stdout.strip() == "False"


def test_it_rejects_a_malformed_boolean():
    result = manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
