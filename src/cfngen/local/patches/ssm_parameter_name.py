"""A parameter of type ``AWS::SSM::Parameter::Name`` stays the name; a missing parameter is a ValidationError.

Emulator: moto reads an ``AWS::SSM::Parameter::Name`` parameter as if it were ``AWS::SSM::Parameter::Value<...>``
(the root's AMI parameter name became the AMI id, which the cluster stack then looked up as a name), and a name the
parameter store lacks crashes it (HTTP 500).
AWS: ``AWS::SSM::Parameter::Name`` is "the name of a Systems Manager parameter key", passed as the name; a missing
parameter fails the request with "Unable to fetch parameters [...] from parameter store for this account."
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html).
Test: tests/test_local_aws.py::test_an_ssm_parameter_name_stays_a_name_and_its_value_resolves_in_the_child,
tests/test_local_aws.py::test_a_missing_ssm_parameter_is_a_validation_error
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

SSM_PARAMETER_NAME = "AWS::SSM::Parameter::Name"
TARGETS = (Target("moto.cloudformation.parsing:ResourceMap.parse_ssm_parameter", "154b9cabf087bc1f"),)


def apply() -> None:
    """Wrap moto's resolution of an SSM parameter type."""
    from moto.cloudformation import parsing

    setattr(parsing.ResourceMap, "parse_ssm_parameter", _ssm_parameter(parsing.ResourceMap.parse_ssm_parameter))


def _ssm_parameter(resolve: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
    def ssm_parameter(resource_map: Any, value: str, value_type: str) -> Any:
        from moto.cloudformation.exceptions import ValidationError
        from moto.ssm.models import ssm_backends

        backend = ssm_backends[resource_map._account_id][resource_map._region_name]
        if backend.get_parameter(value) is None:
            raise ValidationError(
                message=f"Unable to fetch parameters [{value}] from parameter store for this account."
            )
        return value if value_type == SSM_PARAMETER_NAME else resolve(resource_map, value, value_type)

    return ssm_parameter
