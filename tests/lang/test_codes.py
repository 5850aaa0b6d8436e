"""Error codes: every code raised is registered, documented, and has a golden example."""

from __future__ import annotations

import ast
from pathlib import Path

from shoal.lang.codes import ERROR_CODES, SYNTAX_CODES, TYPE_CODES
from tests.lang.golden import cases

ROOT = Path(__file__).resolve().parents[2]
LANG = ROOT / "src" / "shoal" / "lang"
_RAISERS = {"fail", "_fail", "error", "DefinitionTypeError", "DefinitionSyntaxError"}


def raised_codes() -> set[str]:
    """String codes passed to the raising helpers anywhere in src/shoal/lang."""
    codes: set[str] = set()
    for path in LANG.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            ):
                value = node.value
                options = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                codes.update(c.value for c in options if isinstance(c, ast.Constant))
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in _RAISERS:
                continue
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                    codes.add(kw.value.value)
            first = node.args[0] if node.args else None
            # jsonform's _fail takes a JSON path first, not a code.
            positional_code = name != "_fail" or path.name != "jsonform.py"
            if positional_code and isinstance(first, ast.Constant) and isinstance(first.value, str):
                codes.add(first.value)
    return codes


def test_every_raised_code_is_registered() -> None:
    assert raised_codes() - set(ERROR_CODES) == set()


def test_every_registered_code_is_raised() -> None:
    assert set(ERROR_CODES) - raised_codes() == set()


def test_codes_are_unique_across_classes() -> None:
    assert not set(SYNTAX_CODES) & set(TYPE_CODES)


def test_every_code_is_documented() -> None:
    docs = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    missing = [code for code in ERROR_CODES if f"| `{code}` |" not in docs]
    assert missing == []


def test_golden_cases_cover_every_text_error_code() -> None:
    seen = {c.expected.split("]")[0].removeprefix("error[") for c in cases() if c.expected}
    assert set(ERROR_CODES) - seen == {"invalid_json_form", "reference_cycle"}
