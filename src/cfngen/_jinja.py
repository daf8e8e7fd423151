"""Text files rendered from the jinja2 templates shipped in ``cfngen/jinja`` (package data).

Rendering is strict: a variable the template uses but the caller did not pass
raises ``jinja2.UndefinedError`` instead of silently becoming an empty string.
"""

from __future__ import annotations

import functools
import json

import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    # The templates are shell scripts and YAML, never HTML: escaping would corrupt them.
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cfngen", "jinja"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        # A block tag on a line of its own leaves no blank line behind.
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `quote`: any text as a JSON string, which is also a valid YAML double-quoted scalar.
    environment.filters["quote"] = functools.partial(json.dumps, ensure_ascii=False)
    return environment


def render(name: str, **context: object) -> str:
    """The package template `name` rendered with `context`; raises jinja2.UndefinedError on a missing variable."""
    return _environment().get_template(name).render(**context)
