"""benchmarks/mutation.py: the lifting that lets mutmut mutate decorated functions keeps their behaviour, and a
listed equivalent mutant is recognised only while its diff still says what the listing says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent

SOURCE = """
from __future__ import annotations

import functools

from pydantic import BaseModel, field_validator, model_validator


class Inner(BaseModel):
    low: int = 1
    high: int = 2

    @model_validator(mode="after")
    def _ordered(self) -> Inner:
        if self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        return self


class Outer(BaseModel):
    inner: Inner = Inner()  # built while the class body runs: its validator must exist by then
    name: str = "x"

    @field_validator("name")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @property
    def span(self) -> int:
        return self.inner.high - self.inner.low

    @staticmethod
    def plain(*values: int, scale: int = 1, **extra: int) -> int:
        return scale * sum(values) + sum(extra.values())


class Child(Outer):
    @property
    def span(self) -> int:
        return super().span + 1


@functools.lru_cache(maxsize=4)
def cached(value: int) -> int:
    return value * 2
"""


@pytest.fixture(scope="module")
def mutation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_mutation", ROOT / "benchmarks" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(source: str) -> dict[str, object]:
    """The namespace of `source` run as a module (pydantic resolves the annotations through sys.modules)."""
    module = ModuleType("lifted_example")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, module.__name__, "exec"), module.__dict__)
        return module.__dict__
    finally:
        del sys.modules[module.__name__]


def test_lifted_validators_and_properties_behave_as_before(mutation: ModuleType) -> None:
    lifted = mutation.lift_decorated(SOURCE)
    # Validators and properties are lifted; a lone staticmethod (mutmut's own case) and a body that calls super()
    # stay as they are; a memo, which would answer for the mutants with what the unmutated run computed, goes.
    assert sorted(line.split("(")[0] for line in lifted.splitlines() if line.startswith("def _lifted_")) == [
        "def _lifted_Inner__ordered",
        "def _lifted_Outer__lower",
        "def _lifted_Outer_span",
    ]
    assert "lru_cache" not in lifted.replace("import functools", "")
    for source in (SOURCE, lifted):
        names = _run(source)
        outer = names["Outer"](name="ABC", inner={"low": 3, "high": 7})  # type: ignore[operator]
        assert (outer.name, outer.span, outer.plain(1, 2, scale=3, x=4)) == ("abc", 4, 13)
        assert names["Child"]().span == 2  # type: ignore[operator]
        assert names["cached"](4) == 8  # type: ignore[operator]
        with pytest.raises(ValueError, match="low 5 > high 2"):
            names["Inner"](low=5)  # type: ignore[operator]


def test_an_equivalent_mutant_is_recognised_by_its_name_and_its_changed_line(
    mutation: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mutation, "EQUIVALENT", {"m__mutmut_1": ("max(needs, default=1)", "never empty")})
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n-    return max(needs, default=0)\n+    return max(needs, default=1)\n"
    assert mutation._equivalent("m__mutmut_1", diff)
    assert not mutation._equivalent("m__mutmut_2", diff)
    assert not mutation._equivalent("m__mutmut_1", diff.replace("default=1)\n", "default=2)\n"))
