"""Text from a pull request, made harmless before it reaches Markdown, HTML or a terminal.

A carriage return in an environment or tag value ends a Markdown table row (and whatever follows starts a new
block: a ```mermaid fence draws the attacker's diagram in the HTML review); ESC starts terminal escape sequences
that move the cursor or rewrite what a reviewer sees; BEL, the Unicode line and paragraph separators and the
bidirectional overrides ("Trojan Source") change how text displays without being visible. Each such character
is shown instead as an escape a reviewer can read (``\\r``, ``\\x1b``, ``\\u2028``).
"""

from __future__ import annotations

import re

# Every C0 and C1 control and DEL (category Cc), the line/paragraph separators (Zl, Zp), and the format
# characters that reorder or hide text: bidi embeddings, overrides and isolates, zero-width marks, BOM.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(text: str, *, keep: str = "") -> str:
    """`text` with every control or invisible formatting character except those in `keep` shown as an escape."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")

    return _INVISIBLE.sub(escape, text)
