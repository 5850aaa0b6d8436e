"""render_error: header, source line, carets, hint."""

from __future__ import annotations

from shoal.errors import DefinitionSyntaxError, DefinitionTypeError
from shoal.lang import render_error


def test_full_rendering() -> None:
    err = DefinitionSyntaxError(
        "unknown function `withn`",
        code="unknown_function",
        line=2,
        col=4,
        end_col=9,
        hint="did you mean `within`?",
    )
    text = "event('X')\n  .withn(7 days).count() >= 1"
    assert render_error(text, err) == (
        "error[unknown_function] at 2:4: unknown function `withn`\n"
        "  .withn(7 days).count() >= 1\n"
        "   ^^^^^\n"
        "hint: did you mean `within`?"
    )


def test_no_hint_and_at_least_one_caret_at_end_of_input() -> None:
    err = DefinitionSyntaxError("expected a value", code="unexpected_end", line=1, col=5)
    assert render_error("a >=", err).splitlines() == [
        "error[unexpected_end] at 1:5: expected a value",
        "a >=",
        "    ^",
    ]


def test_tabs_are_kept_so_carets_line_up() -> None:
    err = DefinitionTypeError("bad", code="x", line=1, col=3, end_col=4)
    assert render_error("\t\tx", err).splitlines()[2] == "\t\t^"


def test_long_lines_are_cut_around_the_error() -> None:
    text = "a" * 300 + "BAD" + "b" * 300
    err = DefinitionSyntaxError("bad", code="x", line=1, col=301, end_col=304)
    _, source, carets = render_error(text, err).splitlines()
    assert source.startswith("...") and source.endswith("...")
    assert len(source) <= 106
    assert source[carets.index("^") : carets.index("^") + 3] == "BAD"
    assert carets.strip() == "^^^"


def test_position_outside_the_text_prints_only_the_header() -> None:
    err = DefinitionSyntaxError("bad", code="x", line=9, col=1)
    assert render_error("a", err) == "error[x] at 9:1: bad"
