"""Database users: as whom each service connects to the database, how it signs in, what it may do there.

Read from the ``Custom::DatabaseUser`` resources of the templates (builders/database_users.py writes them):
the user, the statements that create it, and so how it authenticates and which schemas it holds grants on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cfngen.report._model import TemplateSet

DATABASE_USER_TYPE = "Custom::DatabaseUser"
IAM_PLUGIN = "AWSAuthenticationPlugin"
_GRANT = re.compile(r"^GRANT (?P<privileges>.+) ON `(?P<schema>(?:[^`]|``)+)`\.\* TO ")
# IAM authentication tokens live 15 minutes and are signed anew with the task role's current credentials.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html
IAM_CREDENTIALS = "a 15-minute token the task role signs per connection: no password, nothing to rotate"


@dataclass(frozen=True)
class DatabaseUser:
    """One service's database user."""

    stack: str
    user: str
    authentication: str
    credentials: str
    grants: tuple[str, ...]


def analyse(templates: TemplateSet) -> tuple[DatabaseUser, ...]:
    """Every database user the templates create, stack by stack."""
    found = []
    for stack in templates.stacks():
        for _, resource in stack.of_type(DATABASE_USER_TYPE):
            properties = resource.get("Properties", {})
            statements = [str(statement) for statement in properties.get("Statements", [])]
            iam = any(IAM_PLUGIN in statement for statement in statements)
            found.append(
                DatabaseUser(
                    stack=stack.name,
                    user=str(properties.get("User", "?")),
                    authentication="IAM database authentication, TLS only" if iam else "password",
                    credentials=IAM_CREDENTIALS if iam else "a password (see the statements)",
                    grants=tuple(_grants(statements)),
                )
            )
    return tuple(found)


def _grants(statements: list[str]) -> list[str]:
    grants = []
    for statement in statements:
        match = _GRANT.match(statement)
        if match:
            grants.append(f"{match['privileges']} on {match['schema'].replace('``', '`')}")
    return grants
