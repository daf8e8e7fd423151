"""Templates as YAML: what troposphere's ``Template.to_yaml()`` says, emitted by libyaml, several times faster.

``to_yaml()`` dumps the template to JSON, parses it back into cfn-flip's
ordered dicts and emits those with PyYAML's pure-Python emitter, which spends
most of its time analysing every scalar. Writing and reviewing hundreds of
templates is dominated by that, so this keeps cfn-flip's representation (the
short-form intrinsics such as ``!Ref``, mappings in key order, its string
styles) and hands the events to libyaml's emitter. The one visible difference
is libyaml's layout: a sequence in a mapping starts at the key's indentation
(``key:\\n- item``), where cfn-flip indents it. The test suite checks that
both texts load to the same template for every example, and that the output
is stable. (cfn-flip's one other step, keeping a Step Functions
DefinitionString given as a mapping as a literal JSON block, cannot apply:
troposphere accepts only a string there.)
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from cfn_flip.yaml_dumper import (
    CONVERTED_SUFFIXES,
    FN_PREFIX,
    STR_MAX_LENGTH_QUOTED,
    STR_MAX_LINES_QUOTED,
    fn_representer,
)
from cfn_tools._config import config
from troposphere import Template

TAG_MAP = "tag:yaml.org,2002:map"
TAG_STR = "tag:yaml.org,2002:str"


class _Dumper(yaml.CSafeDumper):
    """libyaml's emitter with cfn-flip's representation of CloudFormation data."""

    def represent_scalar(self, tag: str, value: Any, style: str | None = None) -> Any:
        # cfn-flip's rules for every scalar, tagged ones (!Base64, !Sub) included: what YAML 1.1 could read
        # as a number (an AWS account id such as 012345678901) stays a string, and line breaks stay visible.
        if len(value) > 1 and value[0] == "0" and value.isascii() and value.isdigit():
            style = "'"
        elif style is None and ("\n" in value or "\r" in value):
            style = '"'
        return super().represent_scalar(tag, value, style)


def _represent_str(dumper: Any, value: str) -> Any:
    """cfn-flip's string styles (its string_representer), counting line breaks without a loop in Python."""
    breaks = value.count("\n") + value.count("\r")
    if breaks >= STR_MAX_LINES_QUOTED:
        style: str | None = "|"
    elif len(value) >= STR_MAX_LENGTH_QUOTED and not breaks:
        style = ">"
    elif value.startswith("0"):
        style = "'"
    else:
        style = None
    return dumper.represent_scalar(TAG_STR, value, style=style)


def _represent_dict(dumper: Any, value: dict[str, Any]) -> Any:
    """A one-key mapping whose key is an intrinsic function becomes its short form; any other stays a mapping."""
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key in CONVERTED_SUFFIXES:
            return fn_representer(dumper, key, inner)
        if key.startswith(FN_PREFIX):
            return fn_representer(dumper, key[len(FN_PREFIX) :], inner)
    return dumper.represent_mapping(TAG_MAP, value, flow_style=False)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)


def to_yaml(template: Template) -> str:
    """The YAML text of `template`: the data of ``template.to_yaml()``, in libyaml's layout."""
    # Through JSON with sorted keys, as to_yaml() does: plain types only, mappings in key order.
    data = json.loads(json.dumps(template.to_dict(), sort_keys=True))
    return str(
        yaml.dump(
            data,
            Dumper=_Dumper,
            default_flow_style=False,
            allow_unicode=True,
            sort_keys=False,
            width=config.max_col_width,
        )
    )
