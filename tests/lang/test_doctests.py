"""Run the docstring examples of shoal.lang (pytest is not configured with --doctest-modules)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import shoal.lang

SUBMODULES = pkgutil.iter_modules(shoal.lang.__path__, prefix="shoal.lang.")
MODULES = ["shoal.lang", *sorted(m.name for m in SUBMODULES)]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_visitor_without_a_method_raises() -> None:
    class Nothing(shoal.lang.Visitor[None]):
        pass

    with pytest.raises(NotImplementedError, match="visit_trait_ref"):
        Nothing().visit(shoal.lang.ast.TraitRef(key="a"))
