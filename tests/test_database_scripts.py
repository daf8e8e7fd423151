"""The shell scripts of the one-off MySQL client tasks, run by `sh` as the tasks run them.

The provisioning script runs against a real MariaDB (when one is installed) through a `mysql` stand-in that drops
the options a MariaDB client lacks and reaches the server's socket; the rotation script runs against a `mysql`
stand-in that records its calls (MariaDB's SET PASSWORD takes a hash, MySQL 8's the password itself:
https://dev.mysql.com/doc/refman/8.0/en/set-password.html).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cfngen.builders import _database_sql, database_proxy, database_users
from tests.test_database_users import _run, mariadb  # noqa: F401 (the fixture)

PASSWORD = "Abc123def456ghi789jkl012mno345pq"


def _run_script(script: str, bin_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DB_HOST": "db", "DB_PORT": "3306", **variables}
    return subprocess.run(["sh", "-c", script], env=environment, capture_output=True, text=True, timeout=60)


@pytest.fixture()
def client_on_mariadb(mariadb: list[str], tmp_path: Path) -> Path:  # noqa: F811
    """A `mysql` command that forwards to the MariaDB server's socket as root, dropping MySQL-only options."""
    (bin_dir := tmp_path / "bin").mkdir()
    stand_in = bin_dir / "mysql"
    forwarded = " ".join(mariadb)
    stand_in.write_text(
        "#!/bin/sh\n"
        'for a; do shift; case "$a" in --host=*|--port=*|--user=*|--ssl-mode=*) ;; *) set -- "$@" "$a";; esac; done\n'
        f'exec {forwarded} "$@"\n'
    )
    stand_in.chmod(0o755)
    return bin_dir


def test_the_provisioning_script_sets_the_secrets_password_on_a_real_server(
    client_on_mariadb: Path,
    mariadb: list[str],  # noqa: F811
) -> None:
    statements = _database_sql.user_statements("proxied", [], authentication=_database_sql.PASSWORD_AUTHENTICATION) + [
        "SELECT 'done';"
    ]
    done = _run_script(
        database_users.CLIENT_SCRIPT,
        client_on_mariadb,
        SQL="\n".join(statements),
        PASSWORD_VARIABLE="PASSWORD_PROXIED",
        PASSWORD_PROXIED=PASSWORD,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr, "the password is never printed"
    created = _run(mariadb, ["SHOW CREATE USER 'proxied'@'%';"])
    expected_hash = _run(mariadb, [f"SELECT PASSWORD('{PASSWORD}');"]).strip()
    assert expected_hash in created, "the user signs in with the secret's password"


def test_the_provisioning_script_refuses_a_password_that_could_end_the_string(
    client_on_mariadb: Path,
    mariadb: list[str],  # noqa: F811
) -> None:
    statements = _database_sql.user_statements("tampered", [], authentication=_database_sql.PASSWORD_AUTHENTICATION)
    done = _run_script(
        database_users.CLIENT_SCRIPT,
        client_on_mariadb,
        SQL="\n".join(statements),
        PASSWORD_VARIABLE="PASSWORD_TAMPERED",
        PASSWORD_TAMPERED="x'; DROP USER root; --",
    )
    assert done.returncode == 3 and "not letters and digits only" in done.stderr
    assert "tampered" not in _run(mariadb, ["SELECT User FROM mysql.user;"]).split()


@pytest.fixture()
def recording_client(tmp_path: Path) -> tuple[Path, Path]:
    """A `mysql` that logs each call (its password and statement) and signs in only with the password in `valid`."""
    (bin_dir := tmp_path / "bin").mkdir()
    log, valid = tmp_path / "calls", tmp_path / "valid"
    (bin_dir / "mysql").write_text(
        "#!/bin/sh\n"
        f'echo "$MYSQL_PWD|$*" >> {log}\n'
        f'[ "$MYSQL_PWD" = "$(cat {valid})" ] || exit 1\n'
        f'case "$*" in *"SET PASSWORD = "*) echo "$*" | sed "s/.*SET PASSWORD = .\\([A-Za-z0-9]*\\).*/\\1/" > {valid};; esac\n'
    )
    (bin_dir / "mysql").chmod(0o755)
    valid.write_text("current1")
    return bin_dir, log


def test_the_rotation_script_sets_the_pending_password_and_signs_in_with_it(
    recording_client: tuple[Path, Path],
) -> None:
    bin_dir, log = recording_client
    done = _run_script(
        database_proxy.ROTATION_SCRIPT, bin_dir, DB_USER="svc", MYSQL_PWD="current1", NEW_PASSWORD="pending2"
    )
    assert done.returncode == 0, done.stderr
    calls = [line.split("|", 1) for line in log.read_text().splitlines()]
    assert [password for password, _ in calls] == ["pending2", "current1", "pending2"]
    assert "SET PASSWORD = 'pending2'" in calls[1][1] and "--ssl-mode=REQUIRED" in calls[1][1]
    # A retried setSecret: the pending password works already, so nothing is changed again.
    log.unlink()
    again = _run_script(
        database_proxy.ROTATION_SCRIPT, bin_dir, DB_USER="svc", MYSQL_PWD="current1", NEW_PASSWORD="pending2"
    )
    assert again.returncode == 0
    assert [line.split("|")[0] for line in log.read_text().splitlines()] == ["pending2", "pending2"]


def test_the_rotation_script_fails_when_the_current_password_does_not_sign_in(
    recording_client: tuple[Path, Path],
) -> None:
    bin_dir, _ = recording_client
    done = _run_script(database_proxy.ROTATION_SCRIPT, bin_dir, DB_USER="svc", MYSQL_PWD="wrong", NEW_PASSWORD="p2")
    assert done.returncode != 0


def test_the_rotation_script_refuses_a_pending_password_that_could_end_the_string(
    recording_client: tuple[Path, Path],
) -> None:
    bin_dir, log = recording_client
    done = _run_script(
        database_proxy.ROTATION_SCRIPT, bin_dir, DB_USER="svc", MYSQL_PWD="current1", NEW_PASSWORD="a'; DROP USER x"
    )
    assert done.returncode == 3 and not log.exists()
