"""Every error code the language front end raises, with a one-line meaning (the docs table)."""

from __future__ import annotations

__all__ = ["ERROR_CODES", "SYNTAX_CODES", "TYPE_CODES"]

#: Codes of ``DefinitionSyntaxError``: the text does not follow the grammar.
SYNTAX_CODES: dict[str, str] = {
    "empty_definition": "the definition is empty or only whitespace",
    "unexpected_character": "a character that is not part of the language (`&`, `|`, `-` alone)",
    "unterminated_string": "a string without its closing quote",
    "invalid_number": "a number that is malformed (`12abc3`) or too large",
    "unexpected_token": "a token where the grammar expects something else",
    "unexpected_end": "the text ends where the grammar expects more",
    "unbalanced_paren": "a `(` that is never closed or a `)` without its `(`",
    "too_deep": "parentheses, junctions or `where` nested more than 64 levels",
    "unknown_function": "a function name the language does not have (with a suggestion)",
    "expected_extractor": "an expression starts with a call that must follow `.`",
    "bare_literal": "an expression starts with a plain value; use `literal(...)`",
    "call_not_allowed": "a call that cannot follow what precedes it (spec §1.4 chain rules)",
    "missing_reducer": "an event stream used as a value without a reducer such as `count()`",
    "invalid_argument": "a wrong, missing or extra argument for a function",
    "invalid_path": "an empty key in a dotted trait/property/context path",
    "invalid_cast": "`as` with a type the reducer does not take",
    "invalid_duration": "a duration amount that is not a whole, non-negative number",
    "missing_unit": "a duration without its unit",
    "unknown_unit": "a unit other than seconds, minutes, hours, days",
    "empty_list": "a value list with no values",
    "invalid_json_form": "a JSON form that does not describe a valid tree",
}

#: Codes of ``DefinitionTypeError``: the text parses but breaks a typing rule.
TYPE_CODES: dict[str, str] = {
    "expected_boolean": "a value where a condition is needed (audience body, `where`, junction)",
    "expected_scalar": "a computed trait whose body is a condition",
    "expected_reducer": "a computed trait that does not end in a reducer over events",
    "property_outside_event": "`property()`/`context()` outside an event's `where` or reducer",
    "parent_outside_nested": "`parent:` used outside an event nested in another event",
    "quantifier_needs_accounts": "`ANY`/`ALL` in a USERS definition",
    "nested_quantifier": "`ANY`/`ALL` inside another `ANY`/`ALL` or inside `where`",
    "event_outside_quantifier": "an ACCOUNTS audience reads events outside `ANY`/`ALL`",
    "too_many_expressions": "more than 50 comparisons in one definition",
    "invalid_date": "a `before_date`/`after_date` argument that is not a date",
    "invalid_mode_count": "`mode(p, n)` with `n` below 1",
    "reference_cycle": "definitions that reference each other in a cycle",
}

ERROR_CODES: dict[str, str] = {**SYNTAX_CODES, **TYPE_CODES}
