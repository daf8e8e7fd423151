"""The public API is exactly what cfngen/__init__.py declares, and every name in it exists."""

from __future__ import annotations

import cfngen


def test_all_lists_only_existing_public_members() -> None:
    for name in cfngen.__all__:
        assert hasattr(cfngen, name), name


def test_every_public_member_is_declared() -> None:
    public = {name for name in vars(cfngen) if not name.startswith("_") and name != "annotations"}
    modules = {name for name in public if type(getattr(cfngen, name)).__name__ == "module"}
    assert public - modules == set(cfngen.__all__) - {"__version__"}


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("cfngen").joinpath("py.typed").is_file()
