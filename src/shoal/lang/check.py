"""Type checker: the rules of spec §1.4 and SEMANTICS.md that need more than the grammar.

The parser already guarantees chain order (a comparator follows a value, a reducer follows a
stream). This pass checks what depends on context:

* an audience is a condition; a computed trait ends in a reducer;
* ``property()``/``context()`` only inside an event's ``where`` or as a reducer argument;
* ``parent:`` only inside a nested event;
* ``ANY``/``ALL`` only for accounts, not nested, and for account audiences every ``event()``
  inside one of them;
* at most :data:`MAX_EXPRESSIONS` comparisons; dates in ``before_date``/``after_date`` parse.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from typing import NoReturn

from shoal.errors import DefinitionTypeError
from shoal.lang import ast

__all__ = ["MAX_EXPRESSIONS", "check", "dependency_order", "references"]

#: Segment's documented limit on primary expressions (comparisons) per definition.
MAX_EXPRESSIONS = 50

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclasses.dataclass(frozen=True, slots=True)
class _Context:
    depth: int = 0
    """How many event streams enclose this node (1 inside a top-level ``where``)."""
    quantified: bool = False
    """Inside ``ANY``/``ALL``."""


def _fail(code: str, message: str, node: ast.Node, hint: str | None = None) -> NoReturn:
    span = node.span
    end_col = span.end_col if span.end_line == span.line else span.col + 1
    raise DefinitionTypeError(
        message, code=code, line=span.line, col=span.col, end_col=end_col, hint=hint
    )


def is_date(text: str) -> bool:
    """Whether ``text`` is a date in the SEMANTICS.md sense (ISO-8601 with a zone, or a day)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return False
    return bool(_DAY.fullmatch(text)) or (parsed.tzinfo is not None and "T" in text)


class _Checker:
    def __init__(self, definition: ast.Definition) -> None:
        self.definition = definition
        self.accounts = definition.target == "accounts"

    def run(self) -> None:
        body = self.definition.body
        comparisons = [n for n in ast.walk(body) if isinstance(n, ast.Comparator)]
        if len(comparisons) > MAX_EXPRESSIONS:
            _fail(
                "too_many_expressions",
                f"{len(comparisons)} comparisons; a definition may have at most {MAX_EXPRESSIONS}",
                comparisons[MAX_EXPRESSIONS],
                "split it into several audiences and reference them with trait('<audience_key>')",
            )
        if self.definition.kind == "audience":
            self.condition(body, _Context())
            return
        if not isinstance(body, ast.Reducer):
            if isinstance(body, ast.Comparator | ast.And | ast.Or | ast.Not | ast.Any | ast.All):
                _fail(
                    "expected_scalar",
                    "a computed trait must produce a value, but this is a condition",
                    body,
                    "end with a reducer such as `.count()`, or create an audience instead",
                )
            _fail(
                "expected_reducer",
                "a computed trait must end in a reducer over events",
                body,
                "e.g. `event('Order Completed').within(30 days).sum(property('revenue'))`",
            )
        self.value(body, _Context())

    def condition(self, node: ast.Expr, ctx: _Context) -> None:
        if isinstance(node, ast.Comparator):
            self.value(node.subject, ctx)
            for arg in node.args:
                if not isinstance(arg, ast.Duration):
                    self.value(arg, ctx)
            if node.op in ("before_date", "after_date"):
                arg = node.args[0]
                if not (isinstance(arg, ast.Literal) and isinstance(arg.value, str)):
                    _fail("invalid_date", f"`{node.op}()` takes a date", arg)
                if not is_date(arg.value):
                    _fail(
                        "invalid_date",
                        f"{arg.value!r} is not a date",
                        arg,
                        "use YYYY-MM-DD or an ISO-8601 timestamp with a zone, "
                        "e.g. '2024-01-31T00:00:00Z'",
                    )
        elif isinstance(node, ast.And | ast.Or):
            for operand in node.operands:
                self.condition(operand, ctx)
        elif isinstance(node, ast.Not):
            self.condition(node.operand, ctx)
        elif isinstance(node, ast.Any | ast.All):
            word = type(node).__name__.upper()
            if not self.accounts:
                _fail(
                    "quantifier_needs_accounts",
                    f"{word} is only meaningful for an ACCOUNTS definition",
                    node,
                    "drop it, or define the audience with target accounts",
                )
            if ctx.quantified or ctx.depth:
                _fail(
                    "nested_quantifier",
                    f"{word} cannot be used inside ANY, ALL or an event's where()",
                    node,
                )
            self.condition(node.operand, dataclasses.replace(ctx, quantified=True))
        else:
            hint = "compare it, e.g. `.exists()` or `= 'true'`"
            if isinstance(node, ast.Reducer):
                hint = "compare the result, e.g. `... .count() >= 1`"
            _fail("expected_boolean", "expected a condition, but this is a value", node, hint)

    def value(self, node: ast.Value, ctx: _Context) -> None:
        if isinstance(node, ast.Property | ast.ContextRef) and not ctx.depth:
            name = "property" if isinstance(node, ast.Property) else "context"
            _fail(
                "property_outside_event",
                f"`{name}()` can only be used inside an event's where() or as a reducer argument",
                node,
                f"e.g. `event('Order Completed').where({name}('...') = 'x').count() >= 1`",
            )
        if isinstance(node, ast.ParentRef) and ctx.depth < 2:
            _fail(
                "parent_outside_nested",
                "`property(parent: ...)` needs an event nested in another event's where()",
                node,
            )
        if isinstance(node, ast.Reducer):
            if node.kind == "mode" and (node.min_count or 0) < 1:
                _fail("invalid_mode_count", "`mode()` needs a minimum frequency of 1 or more", node)
            self.stream(node.stream, ctx)
            if node.arg is not None:
                self.value(node.arg, dataclasses.replace(ctx, depth=ctx.depth + 1))

    def stream(self, node: ast.EventStream, ctx: _Context) -> None:
        if self.accounts and self.definition.kind == "audience" and not ctx.quantified:
            _fail(
                "event_outside_quantifier",
                f"in an ACCOUNTS audience `{node.source}()` must be inside ANY or ALL",
                node,
                "events belong to users: write `ANY (...)` for at least one user, "
                "`ALL (...)` for every user",
            )
        inner = dataclasses.replace(ctx, depth=ctx.depth + 1)
        for flt in node.filters:
            if isinstance(flt, ast.Where):
                self.condition(flt.condition, inner)
            elif isinstance(flt, ast.Within | ast.Between) and flt.parent and not ctx.depth:
                _fail(
                    "parent_outside_nested",
                    "a `parent:` window needs an event nested in another event's where()",
                    flt,
                    "drop `parent:` to count back from now",
                )


def check(definition: ast.Definition) -> ast.Definition:
    """Check ``definition`` and return it unchanged.

    Raises:
        DefinitionTypeError: with a stable ``code`` (see docs/language.md) and the position of
            the offending node.
    """
    _Checker(definition).run()
    return definition


def references(definition: ast.Definition | ast.Node) -> set[str]:
    """Keys of every trait, computed trait or audience the definition reads via ``trait()``."""
    return {n.key for n in ast.walk(definition) if isinstance(n, ast.TraitRef)}


def dependency_order(definitions: Mapping[str, ast.Definition]) -> list[str]:
    """Keys in an order where each definition comes after those it references.

    References to keys outside ``definitions`` (plain traits) are ignored.

    Raises:
        DefinitionTypeError: ``code="reference_cycle"`` naming the keys in a cycle.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = [*path[path.index(key) :], key]
            raise DefinitionTypeError(
                "the definition would create a cycle by referencing another definition: "
                + " → ".join(cycle),
                code="reference_cycle",
            )
        state[key] = 1
        for ref in sorted(references(definitions[key])):
            if ref in definitions:
                visit(ref, [*path, key])
        state[key] = 2
        order.append(key)

    for key in sorted(definitions):
        visit(key, [])
    return order
