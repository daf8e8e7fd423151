"""The Report and its two renderings: Markdown (for pull-request comments) and a self-contained HTML page.

Both come from one jinja2 template (``assets/report.md.j2``): the HTML page is
that Markdown rendered by markdown-it-py into ``assets/page.html.j2``, so the
two can never say different things. The page embeds the Mermaid script shipped
in ``assets/`` and draws the diagram offline.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from cfngen._files import write_text
from cfngen._text import visible
from cfngen.errors import UsageError
from cfngen.report._access import Access
from cfngen.report._changes import ChangeRow, Changes
from cfngen.report._checks import Checks
from cfngen.report._cost import Estimate
from cfngen.report._data_safety import Safety
from cfngen.report._database_users import DatabaseUser
from cfngen.report._delivery import Build, Rollout
from cfngen.report._diagram import MAX_WIRING_NODES, Diagram
from cfngen.report._exposure import MAX_LISTENERS, Exposure
from cfngen.report._model import counted
from cfngen.report._preflight import Preflight
from cfngen.report._quotas import NEAR, QuotaUse

MERMAID_SCRIPT = "mermaid.min.js"
REFUSED = "this change will be refused at deploy:"
# GitHub refuses a pull-request comment over 65,536 characters; the default leaves room for a CI job's own lines.
MAX_COMMENT_CHARS = 60000
# How many items each list of a summary names, tried in turn until the summary fits.
SUMMARY_CAPS = (50, 20, 10, 5, 1)
DIAGRAM_SCRIPT = "diagram.js"
# The only raw HTML the report's Markdown may hold: the tags report.md.j2 writes itself (collapsible sections,
# line breaks in cells). Any other tag, whatever value it came with, is shown as text.
OWN_TAGS = re.compile(r"</?(?:details|summary|code|br)(?: open)?>")
MAX_RUNS_NAMED = 5  # what-runs changes the summary names; section 8 lists all


@dataclass(frozen=True)
class Report:
    """Every section of the review, ready to render."""

    name: str
    region: str
    diagram: Diagram
    exposure: Exposure
    access: Access
    safety: tuple[Safety, ...]
    checks: Checks
    cost: Estimate
    quotas: tuple[QuotaUse, ...]
    changes: Changes | None
    delivery: tuple[Rollout, ...] = ()
    builds: tuple[Build, ...] = ()
    preflight: Preflight | None = None
    """The blueprint's preflight warnings and account settings; None for templates reviewed without their blueprint."""
    database_users: tuple[DatabaseUser, ...] = ()

    def markdown(self, *, max_chars: int | None = None, details: str | None = None) -> str:
        """The report as GitHub/GitLab-flavoured Markdown (the diagram as a ```mermaid block).

        With `max_chars`, a report longer than that becomes its summary (what a reviewer must decide, the
        warnings, exposure, IAM and data-safety changes, cost), each list cut to what fits, pointing at the full
        report at the path `details`. Raises UsageError when not even the shortest summary fits.
        """
        if max_chars is None or len(self.full_markdown) <= max_chars:
            return self.full_markdown
        for cap in SUMMARY_CAPS:
            text = self._render(
                summary=True, cap=cap, full_chars=len(self.full_markdown), max_chars=max_chars, details=details
            )
            if len(text) <= max_chars:
                return text
        raise UsageError(f"the review's summary needs {len(text):,} characters; --max-chars {max_chars:,} is too few")

    @functools.cached_property
    def full_markdown(self) -> str:
        """The whole report as Markdown (rendered once)."""
        return self._render(summary=False, cap=None)

    def needs_summary(self, max_chars: int) -> bool:
        """True when the whole report is longer than `max_chars`, so :meth:`markdown` gives its summary."""
        return len(self.full_markdown) > max_chars

    def decisions(self) -> tuple[str, ...]:
        """What a reviewer must decide: each change the deployer would refuse, then each that risks stateful data."""
        if self.changes is None:
            return ()
        refused = [
            f"{REFUSED} {row.stack}/{row.resource} ({row.type}): {message}"
            for row in self.changes.refused()
            for message in row.refused
        ]
        return (*refused, *(change_line(row) for row in self.changes.rows() if row.warning.startswith("⚠️")))

    def warnings(self) -> tuple[str, ...]:
        """Everything flagged in the report, one line each: preflight, account settings, data safety, wildcards,
        suppressions, quotas, checks."""
        lines = [f"preflight: {warning}" for warning in self.preflight.warnings] if self.preflight else []
        lines += [
            f"account setting {setting.name} needed: {setting.command}"
            for setting in (self.preflight.account_settings if self.preflight else ())
        ]
        lines += [f"{row.stack}/{row.resource}: {warning}" for row in self.safety for warning in row.warnings]
        lines += [
            f'{role.stack}/{role.role}: {action} on Resource "*" without a documented reason'
            for role in self.access.roles
            for grant in role.grants
            if grant.unjustified
            for action, _ in grant.wildcard
        ]
        lines += [
            f"{item.tool} {item.check} suppressed without a reason on {', '.join(item.resources)}"
            for item in self.checks.unexplained()
        ]
        lines += [f"quota: {use.summary} (above the default)" for use in self.quotas if use.above]
        lines += [f"quota: {use.summary} (at {NEAR:.0%} or more of the default)" for use in self.quotas if use.near]
        lines += [
            f"cfn-lint {finding.severity}: {finding}"
            for finding in self.checks.findings or ()
            if finding.severity in ("error", "warning")
        ]
        lines += [f"checkov failed: {failure}" for failure in (self.checks.scan.failed if self.checks.scan else ())]
        return tuple(lines)

    def _render(self, **options: Any) -> str:
        text = _environment(autoescape=False).get_template("report.md.j2").render(report=self, **options)
        # Optional sections leave runs of blank lines behind; one blank line separates blocks in Markdown.
        return re.sub(r"\n{3,}", "\n\n", text)

    def html(self) -> str:
        """The report as one HTML page that works offline: styles, content and diagram script inline.

        Its Content-Security-Policy lets only the page's own scripts run (by their sha256), loads nothing
        from anywhere, and sends no form: even markup that slipped into the report could run no code.
        """
        body = _markdown_to_html(self.full_markdown)
        page = _environment(autoescape=True).get_template("page.html.j2")
        scripts = (_asset(MERMAID_SCRIPT), _asset(DIAGRAM_SCRIPT))
        return page.render(
            title=f"Review: {self.name}",
            body=Markup(body),
            policy=content_security_policy(scripts),
            scripts=[Markup(script) for script in scripts],
        )

    def write(self, path: str | Path) -> Path:
        """Write Markdown (.md) or HTML (.html, .htm) by the file's suffix; returns the path."""
        target = Path(path)
        renderers = {".md": self.markdown, ".markdown": self.markdown, ".html": self.html, ".htm": self.html}
        if target.suffix.lower() not in renderers:
            raise UsageError(f"{target}: cannot tell the format; name the file *.md or *.html")
        return write_text(target, renderers[target.suffix.lower()]())


@functools.cache
def _asset(name: str) -> str:
    return resources.files("cfngen.report").joinpath(f"assets/{name}").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=2)
def _environment(*, autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _asset(name)),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        md=markdown_text,
        code=markdown_code,
        money=money,
        price=price,
        quantity=quantity,
        counted=counted,
        number=number,
        change_line=change_line,
    )
    environment.globals.update(
        max_listeners=MAX_LISTENERS,
        near_quota_share=NEAR,
        max_runs_named=MAX_RUNS_NAMED,
        refused=REFUSED,
        max_wiring_nodes=MAX_WIRING_NODES,
    )
    return environment


def change_line(row: ChangeRow) -> str:
    """One resource change as one line of text."""
    warning = f": {row.warning}" if row.warning else ""
    return f"{row.change} {row.stack}/{row.resource} ({row.type}){warning}"


def content_security_policy(scripts: Iterable[str]) -> str:
    """The page's policy: nothing loads, only `scripts` (inline, by hash) run; Mermaid's SVG needs inline styles."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'" for script in scripts
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _finalize(value: Any) -> Any:
    """Every value a template prints, control characters shown as escapes (Markup: cfngen's own, left as is)."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return visible(value, keep="\n\t")


def _one_line(value: Any) -> str:
    return visible(str(value), keep="\n\t").replace("\n", " ").replace("\t", " ")


def markdown_text(value: Any) -> str:
    """Plain text made safe inside Markdown, table cells included: no emphasis, links, HTML or cell breaks."""
    text = _one_line(value)
    for special in ("\\", "`", "*", "_", "[", "]", "|", "#"):
        text = text.replace(special, "\\" + special)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def markdown_code(value: Any) -> str:
    """`value` as an inline code span that survives a table cell and any backticks in the value.

    CommonMark closes a code span only with a run of backticks as long as the opening one, so the fence is one
    longer than the longest run inside; the spaces keep a backtick at either end apart from the fence.
    """
    text = _one_line(value).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if "`" in text or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def money(value: float) -> str:
    """US dollars with cents: $1,234.50."""
    return f"${value:,.2f}"


def number(value: int) -> str:
    """A count with thousands separated: 1,203."""
    return f"{value:,}"


def price(value: float) -> str:
    """A unit price with the precision it was listed at, at least cents: $0.0208, $0.045, $1.00."""
    digits = f"{value:.6f}".rstrip("0")
    whole, _, fraction = digits.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def quantity(value: float) -> str:
    """2 rather than 2.0; 2.5 stays."""
    return f"{value:g}"


def _markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    # Links and images are off: the report writes none, and a value must not make one.
    parser = MarkdownIt("commonmark", {"html": True}).enable("table").disable(["link", "image", "autolink"])
    default_fence = parser.renderer.rules["fence"]  # type: ignore[attr-defined]

    def fence(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        token = tokens[index]
        if token.info.strip() == "mermaid":
            from markdown_it.common.utils import escapeHtml

            return f'<pre class="mermaid">{escapeHtml(token.content)}</pre>\n'
        return str(default_fence(tokens, index, options, env))

    def code_inline(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        from markdown_it.common.utils import escapeHtml

        # Names like "pipeline-service-a/ServiceAArtifactBucket" may wrap after a slash, never inside a word.
        return "<code>" + escapeHtml(tokens[index].content).replace("/", "/<wbr>") + "</code>"

    def own_html(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        from markdown_it.common.utils import escapeHtml

        content, parts, last = tokens[index].content, [], 0
        for tag in OWN_TAGS.finditer(content):
            parts += [escapeHtml(content[last : tag.start()]), tag.group()]
            last = tag.end()
        return "".join([*parts, escapeHtml(content[last:])])

    parser.add_render_rule("html_block", own_html)
    parser.add_render_rule("html_inline", own_html)
    parser.add_render_rule("fence", fence)
    parser.add_render_rule("code_inline", code_inline)
    return str(parser.render(text))
