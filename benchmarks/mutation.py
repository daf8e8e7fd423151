"""Mutation check of the safety-critical modules: which deliberate bugs does the test suite miss?

    .venv/bin/python benchmarks/mutation.py [MODULE ...]      (or `make mutation`)

mutmut (the `mutation` extra) changes one thing at a time in each module (a comparison flipped,
a constant changed, a call dropped...) and runs the tests that reach the changed function; a
mutant the tests do not fail on "survives". The run happens in a scratch copy of the repository
(mutmut writes its mutants beside the configuration it reads), so the working tree stays as it is.
It prints each surviving mutant's diff and, per module, the score: killed / (killed + survived).
Mutants no test reaches count as survived; mutants that time out count as killed (an infinite
loop is a failure a user would see); mutants listed in EQUIVALENT (no caller can tell them from the
module) are shown but not scored. mutmut mutates no decorated function, and a pydantic model's
cross-field checks are all decorated (validators, properties): the scratch copy therefore moves each
decorated body into a plain module-level function the decorated one calls (lift_decorated), and
the mutants are made there. Slow (minutes per module), hence not part of `make test`:
run it before resolving an issue that touches these modules.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
# module -> the test files that state its promises (the ones mutmut runs against its mutants).
MODULES: dict[str, tuple[str, ...]] = {
    "src/cfngen/deploy/_safety.py": (
        "tests/test_deploy_documented.py",
        "tests/test_deploy_safety.py",
        "tests/test_review.py",
        "tests/test_mutation_kills.py",
        "tests/test_strategy_switch.py",
    ),
    "src/cfngen/deploy/_plan.py": (
        "tests/test_deploy_parts.py",
        "tests/test_deploy_safety.py",
        "tests/test_refusals.py",
        "tests/test_deploy_documented.py",
        "tests/test_mutation_kills.py",
        "tests/test_mutation_kills_plan.py",
        "tests/test_strategy_switch.py",
        "tests/test_cluster.py",
    ),
    "src/cfngen/facts/iam.py": (
        "tests/test_least_privilege.py",
        "tests/lint_rules/test_wildcard_permission.py",
        "tests/test_mutation_kills.py",
    ),
    "src/cfngen/blueprint/_model.py": (
        "tests/test_bad_inputs.py",
        "tests/test_mutation_kills_model.py",
        "tests/test_database_users.py",
        "tests/test_test_traffic.py",
        "tests/test_image_cache.py",
        "tests/test_load_balancer.py",
    ),
    "src/cfngen/blueprint/_preflight.py": (
        "tests/test_preflight.py",
        "tests/test_mutation_kills_preflight.py",
    ),
}
KILLED = {"killed", "timeout", "caught by type check"}
# Mutants that change nothing a caller can observe, so no test can kill them: mutant -> (the text its changed
# line holds, why it is equivalent). A listed mutant whose diff no longer holds that text (its function changed,
# mutmut numbered the mutants anew) is reported as a survivor again.
_BEST_MATCH = "the suggestion is the first, best, close match: how many more get_close_matches returns is unread"
_ROLLBACK = "ROLLBACK's entry says what the lookup's default says: the create rolls back"
_NO_SERVICES = "the default of max() over a blueprint's services, which are never empty (min_length=1)"
EQUIVALENT: dict[str, tuple[str, str]] = {
    "cfngen.blueprint._model.x__known_region__mutmut_9": ("sorted(known), )", _BEST_MATCH),
    "cfngen.blueprint._model.x__known_region__mutmut_11": ("sorted(known), n=2)", _BEST_MATCH),
    "cfngen.blueprint._model.x__lifted_Database__aurora_mysql_class__mutmut_8": ("MEMORY_GIB, )", _BEST_MATCH),
    "cfngen.blueprint._model.x__lifted_Database__aurora_mysql_class__mutmut_9": ("MEMORY_GIB, n=2)", _BEST_MATCH),
    "cfngen.blueprint._preflight.x__instance_type_problems__mutmut_13": ("sorted(offered), )", _BEST_MATCH),
    "cfngen.blueprint._preflight.x__instance_type_problems__mutmut_15": ("sorted(offered), n=2)", _BEST_MATCH),
    **{
        f"cfngen.blueprint._model.x__load_balancer_problems__mutmut_{number}": (changed, _NO_SERVICES)
        for number, changed in ((23, "max(numbers, default=None)"), (25, "max(numbers, )"), (26, "default=1)"))
    },
    "cfngen.blueprint._model.x__load_balancer_problems__mutmut_31": (
        "if pinned >= number)",
        "no service is on the missing balancer `number`, so > and >= find the same first service beyond it",
    ),
    **{
        f"cfngen.blueprint._model.x__lifted_Database__not_reserved__mutmut_{number}": (
            changed,
            "master_username's pattern refuses a name with a dot before this check runs",
        )
        for number, changed in (
            (9, '"XXmysql.sysXX"'),
            (10, '"MYSQL.SYS"'),
            (11, '"XXmysql.sessionXX"'),
            (12, '"MYSQL.SESSION"'),
            (13, '"XXmysql.infoschemaXX"'),
            (14, '"MYSQL.INFOSCHEMA"'),
        )
    },
    **{
        f"cfngen.deploy._plan.xǁPlanǁ_failure_note__mutmut_{number}": (changed, _ROLLBACK)
        for number, changed in (
            (13, '"XXROLLBACKXX": "rolls back"'),
            (14, '"rollback": "rolls back"'),
            (26, 'or "XXROLLBACKXX", "rolls back"'),
            (27, 'or "rollback", "rolls back"'),
        )
    },
    "cfngen.deploy._plan.xǁPlanǁload__mutmut_3": (
        "read_text(encoding=None)",
        "Python reads UTF-8 by default under a UTF-8 or the C locale (PEP 538, 540): CI's and every supported one",
    ),
    "cfngen.deploy._plan.xǁPlanǁload__mutmut_6": ('read_text(encoding="UTF-8")', "codec names are case-blind"),
    "cfngen.deploy._plan.x__raw_changes__mutmut_1": (
        'token: str | None = ""',
        "no token and an empty one both ask for the first page",
    ),
    **{
        f"cfngen.deploy._plan.x_to_change__mutmut_{number}": (
            changed,
            "an absent Replacement finds no entry either way",
        )
        for number, changed in (
            (7, 'raw.get("Replacement", None)'),
            (9, 'raw.get("Replacement", )'),
            (13, 'raw.get("Replacement", "XXXX")'),
        )
    },
    # ACTIONS maps each action CloudFormation documents to its lowercase, which the lookup's fallback gives too.
    **{
        f"cfngen.deploy._plan.x_to_change__mutmut_{number}": (changed, "ACTIONS[a] == a.lower() for every entry")
        for number, changed in (
            (16, "ACTIONS.get(None, "),
            (20, "ACTIONS.get(raw.get(None, "),
            (21, 'ACTIONS.get(raw.get("Action", None), '),
            (22, 'ACTIONS.get(raw.get(""), '),
            (23, 'ACTIONS.get(raw.get("Action", ), '),
            (24, 'ACTIONS.get(raw.get("XXActionXX", ""), '),
            (25, 'ACTIONS.get(raw.get("action", ""), '),
            (26, 'ACTIONS.get(raw.get("ACTION", ""), '),
            (27, 'ACTIONS.get(raw.get("Action", "XXXX"), '),
        )
    },
    **{
        f"cfngen.deploy._plan.x__drift_row__mutmut_{number}": (
            changed,
            "an absent change type finds no entry either way",
        )
        for number, changed in (
            (30, 'target.get("AttributeChangeType", None), '),
            (32, 'target.get("AttributeChangeType", ), '),
            (36, 'target.get("AttributeChangeType", "XXXX"), '),
        )
    },
    "cfngen.blueprint._model.x__lifted_Network__cidr_is_a_network__mutmut_5": (
        "IPv4Network(value, )",
        "strict=True is IPv4Network's default",
    ),
    # The two nearest passing values always lie within 0.3 of the value (tested for every tenth up to 100):
    # a wider window of candidates, or one without 0.0 or 0.1, suggests the same two.
    **{
        f"cfngen.blueprint._model.x__lifted_Deployment__schema_multiple_of_tenth__mutmut_{number}": (
            changed,
            "the nearest two passing values lie within the unmutated window",
        )
        for number, changed in (
            (16, "range(round(value * 10) + 4)"),
            (20, "range(round(value / 10) - 3, "),
            (22, "range(round(value * 10) - 4, "),
            (26, "round(value * 11) + 4)"),
            (27, "round(value * 10) + 5)"),
            (29, "if step >= 0 and"),
            (30, "if step > 1 and"),
        )
    },
    **{
        f"cfngen.blueprint._model.x__lifted_Deployment__options_fit_strategy__mutmut_{number}": (
            changed,
            "codedeploy refuses every wait option, so its rollout (15 minutes) never nears CodeBuild's limit",
        )
        for number, changed in ((24, 'self.strategy != "XXcodedeployXX"'), (25, 'self.strategy != "CODEDEPLOY"'))
    },
    "cfngen.blueprint._model.x__lifted_Deployment_rollout_minutes__mutmut_10": (
        "int(100 / self.step_percent)",
        "truncating and flooring agree for every step_percent the schema accepts (tested for each)",
    ),
    **{
        f"cfngen.deploy._safety.x_pipeline_owned__mutmut_{number}": (
            changed,
            "every ResourceChange CloudFormation describes has a LogicalResourceId",
        )
        for number, changed in (
            (33, 'change.get("LogicalResourceId", None)'),
            (35, 'change.get("LogicalResourceId", )'),
            (39, 'change.get("LogicalResourceId", "XXXX")'),
        )
    },
    **{
        f"cfngen.deploy._safety.x_stack_policy__mutmut_{number}": (
            changed,
            "every root template cfngen makes has Resources",
        )
        for number, changed in ((4, 'package.root.get("Resources", None)'), (6, 'package.root.get("Resources", )'))
    },
    **{
        f"cfngen.facts.iam.x_policy_documents__mutmut_{number}": (
            changed,
            "every resource of a template has a Type (cfn-lint refuses one without): the default names nothing",
        )
        for number, changed in (
            (12, 'resource.get("Type", None)'),
            (14, 'resource.get("Type", )'),
            (18, 'resource.get("Type", "XXXX")'),
        )
    },
    "cfngen.blueprint._preflight.x_preflight_problems__mutmut_12": (
        "problems = _trunking_problems(blueprint, instance)",
        "`problems` is a fresh empty list there: assigning and extending give the same list",
    ),
    **{
        f"cfngen.blueprint._preflight.x__demand__mutmut_{number}": (
            changed,
            _NO_SERVICES,
        )
        for number, changed in ((7, "max(needs, default=None)"), (9, "max(needs, )"), (10, "max(needs, default=1)"))
    },
}


def run(module: str, workdir: Path) -> Counter[str]:
    """Run mutmut over `module` in `workdir` (a fresh copy); print the survivors; return the count per status."""
    tests = [test for test in MODULES[module] if (ROOT / test).exists()]
    source = workdir / module
    source.write_text(lift_decorated(source.read_text(encoding="utf-8")), encoding="utf-8")
    (workdir / "setup.cfg").write_text(
        (ROOT / "setup.cfg").read_text(encoding="utf-8")
        + "\n[mutmut]\nsource_paths = src\n"
        + f"only_mutate = {module}\n"
        # mutmut runs the tests inside mutants/, a copy of src/ and tests/: the files the tests read go with them.
        + "also_copy =\n"
        + "".join(
            f"    {path.name}\n" for path in sorted(workdir.iterdir()) if path.name not in {"src", "tests", "setup.cfg"}
        )
        + "pytest_add_cli_args_test_selection =\n"
        + "".join(f"    {test}\n" for test in tests)
        + "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -x\n    -q\n",
        encoding="utf-8",
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # The scratch copy has no virtualenvs: the tests use the repository's checkov unless told another.
    environment.setdefault("CFNGEN_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    mutmut = [sys.executable, "-m", "mutmut"]
    done = subprocess.run(
        [*mutmut, "run", "--max-children", str(os.cpu_count() or 2)],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:  # e.g. the tests fail without any mutant: mutmut stops before mutating
        raise SystemExit(f"mutmut run failed on {module}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    results = subprocess.run(
        [*mutmut, "results", "--all", "true"], cwd=workdir, env=environment, capture_output=True, text=True, check=True
    ).stdout
    statuses: Counter[str] = Counter()
    for line in results.splitlines():
        match = re.match(r"\s*(\S+): (.+)$", line)
        if not match:
            continue
        name, status = match.groups()
        if status not in KILLED:
            diff = subprocess.run(
                [*mutmut, "show", name], cwd=workdir, env=environment, capture_output=True, text=True, check=False
            ).stdout
            if _equivalent(name, diff):
                print(f"--- equivalent: {name} ({EQUIVALENT[name][1]})")
                status = "equivalent"
            else:
                print(f"--- {status}: {name}\n{diff}")
        statuses[status] += 1
    return statuses


# Memoising decorators: mutmut runs the tests once unmutated, then forks a process per mutant, so a memo filled
# by the first run would answer for the mutants. Memoising a pure function changes no result: the scratch copy
# drops these decorators.
_CACHES = {"cache", "lru_cache"}


class _Lift(cst.CSTTransformer):
    """Moves the body of each decorated function (pydantic validators, properties...) into an undecorated
    module-level function the decorated one calls, so that mutmut, which mutates no decorated function,
    mutates the body. The signatures the decorators read stay as they are; memoising decorators go."""

    def __init__(self) -> None:
        self.lifted: list[cst.FunctionDef] = []
        self.classes: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.classes.pop()
        return updated_node

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        updated_node = updated_node.with_changes(
            decorators=[d for d in updated_node.decorators if _decorator_name(d.decorator) not in _CACHES]
        )
        names = {_decorator_name(decorator.decorator) for decorator in updated_node.decorators}
        if (
            not updated_node.decorators
            or names in ({"staticmethod"}, {"classmethod"})  # mutmut mutates these itself
            or any(name.value in ("super", "__class__") for name in _names(updated_node.body))
        ):
            return updated_node
        lifted = f"_lifted_{'_'.join([*self.classes, updated_node.name.value])}"
        self.lifted.append(updated_node.with_changes(name=cst.Name(lifted), decorators=[]))
        params = updated_node.params
        arguments = [
            *(cst.Arg(cst.Name(param.name.value)) for param in (*params.posonly_params, *params.params)),
            *(
                [cst.Arg(cst.Name(params.star_arg.name.value), star="*")]
                if isinstance(params.star_arg, cst.Param)
                else []
            ),
            *(cst.Arg(cst.Name(p.name.value), keyword=cst.Name(p.name.value)) for p in params.kwonly_params),
            *([cst.Arg(cst.Name(params.star_kwarg.name.value), star="**")] if params.star_kwarg else []),
        ]
        call = cst.Return(cst.Call(cst.Name(lifted), arguments))
        return updated_node.with_changes(body=cst.IndentedBlock([cst.SimpleStatementLine([call])]))


def _decorator_name(decorator: cst.BaseExpression) -> str:
    target = decorator.func if isinstance(decorator, cst.Call) else decorator
    return target.attr.value if isinstance(target, cst.Attribute) else getattr(target, "value", "")


def _names(node: cst.CSTNode) -> Iterator[cst.Name]:
    if isinstance(node, cst.Name):
        yield node
    for child in node.children:
        yield from _names(child)


def lift_decorated(source: str) -> str:
    """`source` with the body of every decorated function moved into a module-level function (see _Lift)."""
    module = cst.parse_module(source)
    body: list[cst.BaseStatement] = []
    for statement in module.body:
        # A lifted function goes before the statement it came from: a class body may call it at import time
        # (a pydantic field whose default is a model instance runs that model's validators).
        lift = _Lift()
        changed = statement.visit(lift)
        body += [*lift.lifted, changed] if isinstance(changed, cst.BaseStatement) else lift.lifted
    return module.with_changes(body=body).code


def _equivalent(name: str, diff: str) -> bool:
    """True when `name` is listed in EQUIVALENT and its diff adds the line the listing names."""
    if name not in EQUIVALENT:
        return False
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return any(EQUIVALENT[name][0] in line for line in added)


def _copy_worktree(workdir: Path) -> None:
    """The repository's files (tracked, and new ones git does not ignore) as they are now, into `workdir`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, workdir / name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules",
        nargs="*",
        default=list(MODULES),
        choices=list(MODULES),
        metavar="MODULE",
        help=f"modules to mutate (default: all of {', '.join(MODULES)})",
    )
    arguments = parser.parse_args()
    scores = {}
    for module in arguments.modules:
        with tempfile.TemporaryDirectory(prefix="cfngen-mutation-") as scratch:
            workdir = Path(scratch)
            _copy_worktree(workdir)
            print(f"=== {module}", flush=True)
            statuses = run(module, workdir)
        killed = sum(count for status, count in statuses.items() if status in KILLED)
        # The score counts the mutants a test could kill: the equivalent ones are left out.
        total = sum(statuses.values()) - statuses["equivalent"]
        scores[module] = (killed, total, dict(statuses))
    print("\nmodule                               killed / mutants   score   statuses (equivalent ones not scored)")
    for module, (killed, total, counts) in scores.items():
        score = f"{100 * killed / total:.0f} %" if total else "-"
        print(f"{module:36} {killed:6} / {total:<7}  {score:>6}   {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
