"""The SQL that gives a service its own database user: pure text, run by the database-users stack's task.

Every statement is idempotent, so the same list runs on create and on every update and converges the user to
what the blueprint states: the user exists, authenticates with IAM only (AWSAuthenticationPlugin, no password)
over TLS, the schemas it is granted on exist, and it holds exactly the listed grants (everything else revoked
first). https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html

Names are validated by the blueprint (lowercase letters, digits, '_'); they are still quoted the way MySQL
reads them, so no name could ever end a string or an identifier early.
https://dev.mysql.com/doc/refman/8.0/en/identifiers.html, https://dev.mysql.com/doc/refman/8.0/en/account-names.html
"""

from __future__ import annotations

from collections.abc import Sequence

from cfngen.blueprint import DatabaseGrant

# The users connect from the tasks' changing addresses: any host; the security group limits who reaches the port.
ANY_HOST = "%"
# Aurora MySQL's plugin for IAM database authentication: the user signs in with a token, never a password.
IAM_AUTHENTICATION = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'"
# database.access: proxy: RDS Proxy signs in with the password of the service's secret. The statements carry this
# marker in its place; the task that runs them replaces it with the secret's password (which ECS hands the task), so
# no password is ever written into a template, a request or a log. '@' never occurs in a validated name.
PASSWORD_MARKER = "@@password@@"
PASSWORD_AUTHENTICATION = f"IDENTIFIED BY '{PASSWORD_MARKER}'"


def quote_identifier(name: str) -> str:
    """A schema name as a MySQL quoted identifier: in backticks, a backtick doubled."""
    return "`" + name.replace("`", "``") + "`"


def quote_string(text: str) -> str:
    """A MySQL string literal: in single quotes, backslash and quote escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def account(user: str) -> str:
    """The account name 'user'@'%'."""
    return f"{quote_string(user)}@{quote_string(ANY_HOST)}"


def user_statements(
    user: str, grants: Sequence[DatabaseGrant], *, authentication: str = IAM_AUTHENTICATION
) -> list[str]:
    """The statements that converge `user` to `grants`: create or re-authenticate it, create its schemas,
    revoke everything, grant what is listed. `authentication` is the IDENTIFIED clause (IAM by default)."""
    who = account(user)
    statements = [
        f"CREATE USER IF NOT EXISTS {who} {authentication} REQUIRE SSL;",
        # CREATE USER IF NOT EXISTS leaves an existing user as it is; this makes it IAM-only and TLS-only.
        f"ALTER USER {who} {authentication} REQUIRE SSL;",
    ]
    statements += [f"CREATE DATABASE IF NOT EXISTS {quote_identifier(grant.schema_name)};" for grant in grants]
    statements.append(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {who};")
    statements += [
        f"GRANT {', '.join('ALL PRIVILEGES' if p == 'ALL' else p for p in grant.privileges)} "
        f"ON {quote_identifier(grant.schema_name)}.* TO {who};"
        for grant in grants
    ]
    return statements


def drop_statements(user: str) -> list[str]:
    """What removing the service runs: its user goes, its schemas (the data) stay."""
    return [f"DROP USER IF EXISTS {account(user)};"]
