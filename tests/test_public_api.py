"""The public API is exactly what cfngen/__init__.py declares, every name in it exists, and it loads lazily."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import cfngen


def test_all_lists_only_existing_public_members() -> None:
    for name in cfngen.__all__:
        assert hasattr(cfngen, name), name


def test_every_public_member_is_declared() -> None:
    public = {name for name in dir(cfngen) if not name.startswith("_") and name != "annotations"}
    modules = {name for name in public if type(getattr(cfngen, name)).__name__ == "module"}
    assert public - modules == set(cfngen.__all__) - {"__version__"}


def test_all_is_sorted() -> None:
    assert cfngen.__all__ == sorted(cfngen.__all__)


def test_no_module_of_cfngen_imports_itself_back_through_another() -> None:
    """No import cycle among cfngen's modules, deferred and type-checking imports included."""
    package = Path(cfngen.__file__).parent
    modules = {
        ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in package.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        targets = set()
        for name in imported:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        graph[module] = targets
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("cfngen").joinpath("py.typed").is_file()


def _fresh_interpreter(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_importing_the_package_loads_no_public_module() -> None:
    loaded = _fresh_interpreter("import sys, cfngen; print(sorted(m for m in sys.modules if m.startswith('cfngen')))")
    assert loaded.strip() == "['cfngen', 'cfngen._version']"


def test_public_names_stay_functions_after_every_module_is_imported() -> None:
    # A submodule named like a public function would replace it on the package once imported.
    kinds = _fresh_interpreter(
        "import importlib, cfngen\n"
        "for module in sorted(set(cfngen._SOURCES.values())): importlib.import_module(module)\n"
        "print(*(type(getattr(cfngen, name)).__name__ for name in ('lint', 'diff', 'ci_policy', 'scaffold', 'review')))"
    )
    assert kinds.split() == ["function"] * 5


def test_the_cli_uses_only_the_public_api() -> None:
    """The command line is a client of the library: every name it imports is in `cfngen.__all__` (or, for the
    optional emulator, in `cfngen.local.__all__`), so whatever a command does, other tooling can do too."""
    import cfngen.local

    public = {"cfngen": set(cfngen.__all__), "cfngen.local": set(cfngen.local.__all__)}
    outside = []
    for path in sorted((Path(cfngen.__file__).parent / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names if alias.name.startswith("cfngen")]
                outside += [f"{path.name}: import {module}" for module in modules]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.partition(".")[0] == "cfngen":
                if node.module == "cfngen.cli" or node.module.startswith("cfngen.cli."):
                    continue
                allowed = public.get(node.module, set())
                if node.module == "cfngen":
                    allowed = allowed | {"local"}  # the emulator's package itself
                outside += [
                    f"{path.name}: from {node.module} import {alias.name}"
                    for alias in node.names
                    if alias.name not in allowed
                ]
    assert outside == []
