"""`shoal check`: canonical text, JSON form, and the rendered error with exit status 2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from shoal.cli import app

runner = CliRunner()


def test_prints_canonical_text() -> None:
    text = "event('A').within(7 day).count()>=1 and trait('x').eq(1)"
    result = runner.invoke(app, ["check", text])
    assert result.exit_code == 0, result.output
    assert result.stdout == "event('A').within(7 days).count() >= 1 AND trait('x') = 1\n"


def test_trait_for_accounts() -> None:
    text = "event('A').unique(property('ip')).count()"
    result = runner.invoke(app, ["check", "--type", "trait", "--target", "accounts", text])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "event('A').unique(property('ip')).count()"


def test_json_output() -> None:
    result = runner.invoke(app, ["check", "--json", "trait('a').exists()"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["body"]["op"] == "exists"


def test_reads_stdin() -> None:
    result = runner.invoke(app, ["check", "-"], input="trait('a')\n  == 'b'\n")
    assert result.stdout == "trait('a') = 'b'\n"


def test_invalid_definition_exits_2_with_rendered_error() -> None:
    result = runner.invoke(app, ["check", "event('X').withn(7 days).count() >= 1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error[unknown_function] at 1:12: unknown function `withn`\n"
        "event('X').withn(7 days).count() >= 1\n"
        "           ^^^^^\n"
        "hint: did you mean `within`?\n"
    )


def test_type_errors_use_the_kind_and_target() -> None:
    result = runner.invoke(app, ["check", "--target", "accounts", "event('X').count() >= 1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error[event_outside_quantifier] at 1:1:")


def test_bad_option_value_is_a_usage_error() -> None:
    result = runner.invoke(app, ["check", "--type", "segment", "trait('a').exists()"])
    assert result.exit_code == 2
