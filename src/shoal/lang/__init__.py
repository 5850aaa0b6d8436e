"""Segment query language: parse, check, format and serialise definitions.

Pure: imports nothing outside the standard library and :mod:`shoal.errors`.

>>> from shoal import lang
>>> d = lang.check(lang.parse("event('Signed Up').within(7 day).count() >= 1"))
>>> lang.format_definition(d)
"event('Signed Up').within(7 days).count() >= 1"
>>> lang.from_json(lang.to_json(d)) == d
True
"""

from __future__ import annotations

import typing

from shoal.lang import ast
from shoal.lang.check import MAX_EXPRESSIONS, check, dependency_order, references
from shoal.lang.format import format_definition, format_expr
from shoal.lang.jsonform import definition_from_json as from_json
from shoal.lang.jsonform import to_json
from shoal.lang.parser import parse
from shoal.lang.render import render_error
from shoal.lang.visit import Visitor, node_tag

__all__ = [
    "MAX_EXPRESSIONS",
    "Visitor",
    "ast",
    "check",
    "compile_definition",
    "dependency_order",
    "format_definition",
    "format_expr",
    "from_json",
    "node_tag",
    "parse",
    "references",
    "render_error",
    "to_json",
]


def compile_definition(
    text: str,
    *,
    kind: typing.Literal["audience", "trait"] = "audience",
    target: typing.Literal["users", "accounts"] = "users",
) -> ast.Definition:
    """Parse and check in one step: the usual entry point for callers holding text."""
    return check(parse(text, kind=kind, target=target))
