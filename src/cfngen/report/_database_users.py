"""Database users: as whom each service connects to the database, how it signs in, what it may do there.

Read from the ``Custom::DatabaseUser`` resources of the templates (builders/database_users.py writes them):
the user, the statements that create it, and so how it authenticates and which schemas it holds grants on; with
database.access: proxy, the user's secret and the schedule that rotates it (builders/database_proxy.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from cfngen.report._model import TemplateSet

DATABASE_USER_TYPE = "Custom::DatabaseUser"
ROTATION_SCHEDULE_TYPE = "AWS::SecretsManager::RotationSchedule"
IAM_PLUGIN = "AWSAuthenticationPlugin"
PROXY_AUTHENTICATION = (
    "IAM database authentication to the RDS Proxy, TLS only; the proxy signs in with the user's secret"
)
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
        rotations = {
            json.dumps(properties.get("SecretId"), sort_keys=True): properties.get("RotationRules", {})
            for _, resource in stack.of_type(ROTATION_SCHEDULE_TYPE)
            for properties in [resource.get("Properties", {})]
        }
        for _, resource in stack.of_type(DATABASE_USER_TYPE):
            properties = resource.get("Properties", {})
            statements = [str(statement) for statement in properties.get("Statements", [])]
            if any(IAM_PLUGIN in statement for statement in statements):
                authentication, credentials = "IAM database authentication, TLS only", IAM_CREDENTIALS
            elif "SecretArn" in properties:
                rules = rotations.get(json.dumps(properties["SecretArn"], sort_keys=True))
                authentication, credentials = PROXY_AUTHENTICATION, _rotation(properties["SecretArn"], rules)
            else:
                authentication, credentials = "password", "a password (see the statements)"
            found.append(
                DatabaseUser(
                    stack=stack.name,
                    user=str(properties.get("User", "?")),
                    authentication=authentication,
                    credentials=credentials,
                    grants=tuple(_grants(statements)),
                )
            )
    return tuple(found)


def _rotation(secret: object, rules: dict[str, object] | None) -> str:
    """What the proxy signs in with and how often it changes: the secret, its rotation schedule (or ⚠️ none)."""
    name = secret.get("Ref", "?") if isinstance(secret, dict) else str(secret)
    if rules is None:
        return f"secret {name}, ⚠️ not rotated"
    days = rules.get("AutomaticallyAfterDays")
    schedule = f"every {days} days" if days else str(rules.get("ScheduleExpression", "?"))
    return (
        f"secret {name}, rotated {schedule} and once at creation (Secrets Manager, single user); "
        "the tasks never hold it"
    )


def _grants(statements: list[str]) -> list[str]:
    grants = []
    for statement in statements:
        match = _GRANT.match(statement)
        if match:
            grants.append(f"{match['privileges']} on {match['schema'].replace('``', '`')}")
    return grants
