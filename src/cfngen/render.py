"""Text files rendered from the jinja2 templates shipped in ``cfngen/templates`` (package data).

Rendering is strict: a variable the template uses but the caller did not pass
raises ``jinja2.UndefinedError`` instead of silently becoming an empty string.
"""

from __future__ import annotations

import functools

import jinja2


@functools.lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    # The templates are shell scripts and YAML, never HTML: escaping would corrupt them.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cfngen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(name: str, **context: object) -> str:
    """The package template `name` rendered with `context`; raises jinja2.UndefinedError on a missing variable."""
    return _environment().get_template(name).render(**context)
