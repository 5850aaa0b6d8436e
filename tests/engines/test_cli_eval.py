"""`shoal eval` with one QUERY: output form, options, errors (docs/eval.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
from typer.testing import CliRunner

from shoal.cli import app
from tests.cases import STREAMS_DIR

SHOP = str(STREAMS_DIR / "shop.jsonl")
AS_OF = "2024-06-30T12:00:00Z"


def _eval(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["eval", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_audience_prints_sorted_member_names() -> None:
    code, out, _ = _eval(
        "--events", SHOP, "--as-of", AS_OF, "event('Order Completed').within(7 days).count() >= 1"
    )
    assert code == 0
    assert out == "user_id:ann\nuser_id:ben\n"


def test_trait_prints_name_tab_json_without_nulls() -> None:
    code, out, _ = _eval(
        "--events", SHOP, "--as-of", AS_OF, "event('Order Completed').unique(property('category'))"
    )
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert [n for n, _ in lines] == ["user_id:ann", "user_id:ben", "user_id:cat"]
    assert orjson.loads(lines[0][1]) == ["bags", "hats", "shoes"]


def test_numbers_print_as_json_numbers() -> None:
    code, out, _ = _eval("--events", SHOP, "--as-of", AS_OF, "event('Order Completed').count()")
    assert code == 0
    assert out.splitlines() == [
        "user_id:ann\t4",
        "user_id:ben\t3",
        "user_id:cat\t1",
        "user_id:dee\t0",
    ]


def test_kind_forces_audience() -> None:
    code, _, err = _eval("--events", SHOP, "--kind", "audience", "event('X').count()")
    assert code == 2
    assert err.startswith("error[expected_boolean] at 1:1:")


def test_invalid_definition_exits_2_with_caret() -> None:
    code, out, err = _eval(
        "--events", SHOP, "trait('a') >= 1 AND\n  event('X').withn(7 days).count() >= 1"
    )
    assert code == 2
    assert out == ""
    assert err.splitlines()[:3] == [
        "error[unknown_function] at 2:14: unknown function `withn`",
        "  event('X').withn(7 days).count() >= 1",
        "             ^^^^^",
    ]


def test_accounts_and_stdin() -> None:
    code, out, _ = _eval(
        "--events",
        str(STREAMS_DIR / "accounts.jsonl"),
        "--as-of",
        AS_OF,
        "--type",
        "accounts",
        "-",
        stdin="ALL NOT event('Shoes Bought').count() >= 1",
    )
    assert code == 0
    assert out == "group_id:gamma\n"


def test_include_anonymous() -> None:
    events = str(STREAMS_DIR / "identity.jsonl")
    query = "event('Visit').count() >= 1"
    _, without, _ = _eval("--events", events, "--as-of", AS_OF, query)
    _, with_anon, _ = _eval("--events", events, "--as-of", AS_OF, "--include-anonymous", query)
    added = set(with_anon.splitlines()) - set(without.splitlines())
    assert added == {"anonymous_id:a1", "anonymous_id:a4"}


def test_bad_as_of_and_missing_file(tmp_path: Path) -> None:
    code, _, err = _eval("--events", SHOP, "--as-of", "2024-06-30T12:00:00", "trait('a') = 1")
    assert code == 2
    assert "no time zone" in err
    code, _, err = _eval(
        "--events", str(tmp_path / "none.jsonl"), "--as-of", AS_OF, "trait('a') = 1"
    )
    assert code == 2
    assert "no such file" in err


def test_cases_file_reports_errors_and_cycles(tmp_path: Path) -> None:
    cases = tmp_path / "cases.json"
    cases.write_bytes(
        orjson.dumps(
            {
                "as_of": AS_OF,
                "cases": [
                    {
                        "name": "buyers",
                        "type": "users",
                        "query": "event('Order Completed').count() >= 3",
                    },
                    {"name": "n", "type": "users", "query": "event('Order Completed').count()"},
                    {
                        "name": "big",
                        "type": "users",
                        "query": "trait('buyers') = 'true' AND trait('n') > 3",
                    },
                    {"name": "broken", "type": "users", "query": "trait('a') = "},
                    {"name": "p", "type": "users", "query": "trait('q') = 'true'"},
                    {"name": "q", "type": "users", "query": "trait('p') = 'true'"},
                ],
            }
        )
    )
    code, out, _ = _eval("--events", SHOP, "--cases", str(cases))
    assert code == 0
    printed = orjson.loads(out)
    assert printed["buyers"] == {"members": ["user_id:ann", "user_id:ben"]}
    assert printed["big"] == {"members": ["user_id:ann"]}
    assert printed["n"]["values"]["user_id:ann"] == 4
    assert printed["broken"]["error"]["code"] == "unexpected_end"
    assert printed["broken"]["error"]["line"] == 1
    assert printed["p"]["error"]["code"] == printed["q"]["error"]["code"] == "reference_cycle"


def test_subprocess_entry_point() -> None:
    """The installed command, as other engines' CI will call it."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "shoal",
            "eval",
            "--events",
            str(STREAMS_DIR / "funnel.jsonl"),
            "--as-of",
            AS_OF,
            "event('Product Added').where(event('Order Completed').within(parent: 1 day)"
            ".count() >= 1).count() >= 1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["user_id:fa", "user_id:fb", "user_id:fd", "user_id:fe"]


def test_cases_file_errors(tmp_path: Path) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text(
        '{"cases": [{"name": "a", "query": "trait(\'x\') = 1"}, '
        '{"name": "a", "query": "trait(\'y\') = 1"}]}'
    )
    code, _, err = _eval("--events", SHOP, "--cases", str(cases))
    assert code == 2
    assert "used twice" in err
    cases.write_text("[]")
    code, _, err = _eval("--events", SHOP, "--cases", str(cases))
    assert code == 2
    assert err.startswith("error[invalid_input_file]")
