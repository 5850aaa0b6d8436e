"""Recursive-descent parser: definition text → :mod:`shoal.lang.ast` tree.

The parser enforces the grammar of spec §1.3 *and* the chain order of §1.4 (which call may follow
which), because both are visible in the text alone. Rules that need context (an audience must be
boolean, ``property()`` only inside an event, accounts need ``ANY``/``ALL``) live in
:mod:`shoal.lang.check`. The only exception this module raises is ``DefinitionSyntaxError``.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import NoReturn

from shoal.errors import DefinitionSyntaxError
from shoal.lang import ast
from shoal.lang.tokens import Token, Tokenizer

__all__ = ["EXTRACTORS", "FILTERS", "MAX_DEPTH", "Parser", "parse"]

EXTRACTORS = ("event", "entity", "trait", "property", "context", "literal")
FILTERS = ("where", "sources", "within", "between", "expires_after")
INFIX_OPS: dict[str, ast.ComparatorOp] = {
    "=": "equals",
    "==": "equals",
    "!=": "differs",
    ">": "greater_than",
    ">=": "at_least",
    "<": "less_than",
    "<=": "at_most",
}
_UNITS: dict[str, ast.Unit] = {
    **{u[:-1]: u for u in ast.UNITS},
    **{u: u for u in ast.UNITS},
}
_VALUE_ARG_OPS = frozenset(INFIX_OPS.values())
_LIST_OPS = frozenset({"contains", "one_of", "none_of"})
_NO_ARG_OPS = frozenset({"exists", "absent"})
_DURATION_OPS = frozenset({"within_last", "within_next", "before_last", "after_next"})
# `unique_count` is a tree kind, written `unique(p).count()`; it is not a function name.
_REDUCER_CALLS = tuple(r for r in ast.REDUCERS if r != "unique_count")
_CANONICAL_CALLS = (*FILTERS, *_REDUCER_CALLS, *ast.COMPARATORS)
_CALLS = (*_CANONICAL_CALLS, *ast.ALIASES)

#: Deepest nesting of parentheses, junctions and ``where`` accepted; guards the Python stack.
MAX_DEPTH = 64

Chain = ast.EventStream | ast.Expr


def _suggest(name: str, choices: typing.Iterable[str], what: str = "function names") -> str | None:
    options = list(choices)
    if name.lower() in options:
        return f"{what} are lower-case: `{name.lower()}`"
    close = difflib.get_close_matches(name.lower(), options, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class Parser:
    """Parses one definition; create a new parser per text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tokenizer = Tokenizer(text)
        self.tokens = self._tokenizer.tokens()
        self.pos = 0
        self.depth = 0

    # --- token plumbing -------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        if token.kind != "eof":
            self.pos += 1
        return token

    @property
    def last(self) -> Token:
        return self.tokens[max(self.pos - 1, 0)]

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind in ("punct", "op") and token.text == text

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "ident" and token.text == word

    def fail(
        self,
        code: str,
        message: str,
        token: Token,
        hint: str | None = None,
        end: Token | None = None,
    ) -> NoReturn:
        last = end or token
        end_col = last.end_col if last.end_line == token.line else token.end_col
        if end_col <= token.col:
            end_col = token.col + 1
        raise DefinitionSyntaxError(
            message, code=code, line=token.line, col=token.col, end_col=end_col, hint=hint
        )

    def unexpected(self, expected: str, hint: str | None = None) -> NoReturn:
        token = self.peek()
        code = "unexpected_end" if token.kind == "eof" else "unexpected_token"
        self.fail(code, f"expected {expected}, found {token.describe()}", token, hint)

    def expect(self, text: str, expected: str | None = None) -> Token:
        if not self.at(text):
            self.unexpected(expected or f"`{text}`")
        return self.advance()

    def span(self, start: Token, end: Token | None = None) -> ast.Span:
        end = end or self.last
        return ast.Span(
            start=start.start,
            end=end.end,
            line=start.line,
            col=start.col,
            end_line=end.end_line,
            end_col=end.end_col,
        )

    def node_token(self, node: ast.Node) -> Token:
        """A pseudo-token covering ``node``, so errors can point at a whole sub-expression."""
        s = node.span
        return Token(
            kind="punct",
            text=self.text[s.start : s.end],
            value="",
            start=s.start,
            end=s.end,
            line=s.line,
            col=s.col,
            end_line=s.end_line,
            end_col=s.end_col,
        )

    # --- junctions ------------------------------------------------------------------------------

    def parse_definition(
        self,
        kind: typing.Literal["audience", "trait"],
        target: typing.Literal["users", "accounts"],
    ) -> ast.Definition:
        first = self.peek()
        if first.kind == "eof":
            self.fail("empty_definition", "the definition is empty", first)
        body = self.parse_or()
        token = self.peek()
        if token.kind != "eof":
            if self.at(")"):
                self.fail("unbalanced_paren", "this `)` has no matching `(`", token)
            self.unexpected("AND, OR or the end of the definition", self._junction_hint(token))
        return ast.Definition(kind=kind, target=target, body=body, span=self.span(first))

    def _junction_hint(self, token: Token) -> str | None:
        if token.kind == "op":
            return "comparisons cannot be chained; join them with AND or OR"
        if token.kind == "ident" and token.text.lower() in ("and", "or"):
            return "write junctions as AND / OR"
        if token.kind in ("ident", "string", "number"):
            return "join expressions with AND or OR"
        return None

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail("too_deep", f"nesting deeper than {MAX_DEPTH} levels", self.peek())

    def parse_or(self) -> ast.Expr:
        self._enter()
        start = self.peek()
        operands = [self.parse_and()]
        while self.peek().kind == "keyword" and self.peek().value == "OR":
            self.advance()
            operands.append(self.parse_and())
        self.depth -= 1
        if len(operands) == 1:
            return operands[0]
        return ast.Or(operands=tuple(operands), span=self.span(start))

    def parse_and(self) -> ast.Expr:
        start = self.peek()
        operands = [self.parse_unary()]
        while self.peek().kind == "keyword" and self.peek().value == "AND":
            self.advance()
            operands.append(self.parse_unary())
        if len(operands) == 1:
            return operands[0]
        return ast.And(operands=tuple(operands), span=self.span(start))

    def parse_unary(self) -> ast.Expr:
        token = self.peek()
        if token.kind == "keyword" and token.value in ("NOT", "ANY", "ALL"):
            self.advance()
            self._enter()
            operand = self.parse_unary()
            self.depth -= 1
            span = self.span(token)
            if token.value == "NOT":
                return ast.Not(operand=operand, span=span)
            if token.value == "ANY":
                return ast.Any(operand=operand, span=span)
            return ast.All(operand=operand, span=span)
        return self.parse_primary()

    def parse_primary(self) -> ast.Expr:
        start = self.peek()
        node: Chain
        if self.at("("):
            self.advance()
            node = self.parse_or()
            if not self.at(")"):
                if self.peek().kind == "eof":
                    self.fail("unbalanced_paren", "this `(` is never closed", start)
                self.unexpected("`)`", self._junction_hint(self.peek()))
            self.advance()
            node = self.parse_calls(node, start)
        else:
            node = self.parse_chain()
        if self.peek().kind == "op":
            self.check_value(node, start, "compared")
            op_token = self.advance()
            operand = self.parse_operand(op_token)
            node = ast.Comparator(
                subject=typing.cast(ast.Value, node),
                op=INFIX_OPS[op_token.text],
                args=(operand,),
                span=self.span(start),
            )
        return self.finish(node, start)

    # --- chains ---------------------------------------------------------------------------------

    def finish(self, node: Chain, start: Token) -> ast.Expr:
        """Reject a chain left as a bare event stream, which has no value of its own."""
        if isinstance(node, ast.EventStream):
            self.fail(
                "missing_reducer",
                f"`{node.source}('{node.name}')` is a stream of events, not a value",
                start,
                "reduce it, e.g. `.count() >= 1`",
                end=self.last,
            )
        return node

    def check_value(self, node: Chain, start: Token, used: str) -> None:
        if isinstance(node, ast.EventStream):
            self.finish(node, start)
        if isinstance(node, ast.Reducer) and node.kind == "unique":
            self.fail(
                "call_not_allowed",
                f"`unique()` returns a list, which cannot be {used}",
                self.peek(),
                "count the values with `.unique(...).count()`",
            )
        if isinstance(node, ast.Comparator | ast.And | ast.Or | ast.Not | ast.Any | ast.All):
            self.fail(
                "call_not_allowed",
                f"a comparison is already complete and cannot be {used}",
                self.peek(),
                "join comparisons with AND or OR",
            )

    def parse_chain(self) -> Chain:
        start = self.peek()
        return self.parse_calls(self.parse_extractor(), start)

    def parse_calls(self, node: Chain, start: Token) -> Chain:
        while self.at("."):
            self.advance()
            name = self.peek()
            if name.kind != "ident":
                self.unexpected("a function name after `.`")
            self.advance()
            node = self.apply_call(node, start, name)
        return node

    def parse_extractor(self) -> ast.Expr | ast.EventStream:
        token = self.peek()
        if token.kind in ("string", "number", "date"):
            self.fail(
                "bare_literal",
                "an expression cannot start with a plain value",
                token,
                f"write `literal({token.text})`, or put the value on the right of a comparison",
            )
        if token.kind != "ident":
            self.unexpected("an expression such as `event('...')` or `trait('...')`")
        name = token.text
        if name not in EXTRACTORS:
            if name in _CALLS:
                self.fail(
                    "expected_extractor",
                    f"`{name}()` cannot start an expression",
                    token,
                    "start with event(), trait(), property(), context() or literal()",
                )
            self.fail(
                "unknown_function",
                f"unknown function `{name}`",
                token,
                _suggest(name, (*EXTRACTORS, *_CANONICAL_CALLS)),
            )
        self.advance()
        self.expect("(", f"`(` after `{name}`")
        node: ast.Expr | ast.EventStream
        if name == "literal":
            node = self.parse_literal("`literal()` takes a constant, e.g. `literal(5)`")
        elif name == "property":
            node = self.parse_property_ref(token)
        else:
            argument = self.parse_string(f"`{name}()` takes a quoted name, e.g. {name}('...')")
            if name in ("event", "entity"):
                if not argument.value:
                    self.fail("invalid_argument", f"`{name}()` needs a non-empty name", argument)
                source: typing.Literal["event", "entity"] = "event" if name == "event" else "entity"
                node = ast.EventStream(name=str(argument.value), source=source)
            elif name == "trait":
                key, *rest = self.path(argument)
                node = ast.TraitRef(key=key, path=tuple(rest))
            else:
                node = ast.ContextRef(path=self.path(argument))
        self.close(name)
        return dataclasses.replace(node, span=self.span(token))

    def parse_property_ref(self, name: Token) -> ast.Property | ast.ParentRef:
        parent = self.parse_parent_prefix()
        argument = self.parse_string("`property()` takes a quoted name, e.g. property('price')")
        if parent:
            return ast.ParentRef(path=self.path(argument))
        return ast.Property(path=self.path(argument))

    def parse_parent_prefix(self) -> bool:
        if self.at_word("parent") and self.peek(1).kind == "punct" and self.peek(1).text == ":":
            self.advance()
            self.advance()
            return True
        return False

    def close(self, name: str) -> Token:
        if self.at(","):
            self.fail("invalid_argument", f"too many arguments for `{name}()`", self.peek())
        return self.expect(")", f"`)` to close `{name}(`")

    def path(self, token: Token) -> tuple[str, ...]:
        parts = ast.split_path(str(token.value))
        if not all(parts):
            self.fail(
                "invalid_path",
                f"{token.describe()} is not a valid path",
                token,
                "separate nested keys with single dots, e.g. 'address.city'",
            )
        return parts

    def apply_call(self, node: Chain, start: Token, name_token: Token) -> Chain:
        raw = name_token.text
        name = ast.ALIASES.get(raw, raw)
        if name not in _CALLS:
            if name in EXTRACTORS:
                self.fail(
                    "call_not_allowed",
                    f"`{name}()` starts an expression and cannot follow `.`",
                    name_token,
                )
            hint = _suggest(raw, _CANONICAL_CALLS)
            self.fail("unknown_function", f"unknown function `{raw}`", name_token, hint)
        self.expect("(", f"`(` after `{raw}`")
        if isinstance(node, ast.EventStream):
            if name in FILTERS:
                return self.apply_filter(node, start, name_token, name)
            if name in _REDUCER_CALLS:
                return self.apply_reducer(node, start, name_token, name)
            self.fail(
                "missing_reducer",
                f"`{raw}()` compares a value, but `{node.source}('{node.name}')` is a stream",
                name_token,
                "reduce the stream first, e.g. `.count() >= 1`",
            )
        if isinstance(node, ast.Reducer) and node.kind == "unique":
            if name != "count":
                self.fail(
                    "call_not_allowed",
                    f"`{raw}()` cannot follow `unique()`, which returns a list",
                    name_token,
                    "only `.count()` can follow `unique()`",
                )
            self.close("count")
            return dataclasses.replace(node, kind="unique_count", span=self.span(start))
        if isinstance(node, ast.Comparator | ast.And | ast.Or | ast.Not | ast.Any | ast.All):
            self.fail(
                "call_not_allowed",
                f"`{raw}()` cannot follow a comparison, which ends the expression",
                name_token,
                "join comparisons with AND or OR",
            )
        if name not in ast.COMPARATORS:
            self.fail(
                "call_not_allowed",
                f"`{raw}()` needs an event stream, but this is a single value",
                name_token,
                "compare the value instead, e.g. `.equals(...)` or `>= 1`",
            )
        op: ast.ComparatorOp = name
        return ast.Comparator(
            subject=node, op=op, args=self.comparator_args(op, raw), span=self.span(start)
        )

    def apply_filter(
        self, stream: ast.EventStream, start: Token, name_token: Token, name: str
    ) -> ast.EventStream:
        flt: ast.Filter
        if name == "where":
            if self.at(")"):
                self.fail("invalid_argument", "`where()` needs a condition", self.peek())
            flt = ast.Where(condition=self.parse_or())
        elif name == "sources":
            flt = ast.Sources(exclude=self.parse_sources())
        elif name == "within":
            parent = self.parse_parent_prefix()
            flt = ast.Within(duration=self.parse_duration(), parent=parent)
        elif name == "between":
            parent = self.parse_parent_prefix()
            first = self.parse_duration()
            self.expect(",", "`,` and a second duration, e.g. `between(7 days, 30 days)`")
            flt = ast.Between(start=first, end=self.parse_duration(), parent=parent)
        else:
            flt = ast.ExpiresAfter(duration=self.parse_duration())
        self.close(name)
        flt = dataclasses.replace(flt, span=self.span(name_token))
        return dataclasses.replace(stream, filters=(*stream.filters, flt), span=self.span(start))

    def parse_sources(self) -> tuple[str, ...]:
        self.expect("{", "`{exclude: [...]}`")
        key = self.peek()
        if not (key.kind in ("ident", "string") and key.value == "exclude"):
            self.unexpected("`exclude`")
        self.advance()
        self.expect(":")
        values = self.parse_value_list("sources", closer="}")
        for value in values:
            if not isinstance(value.value, str):
                self.fail(
                    "invalid_argument", "source ids are quoted strings", self.node_token(value)
                )
        self.expect("}", "`}`")
        return tuple(str(v.value) for v in values)

    def apply_reducer(
        self, stream: ast.EventStream, start: Token, name_token: Token, name: str
    ) -> ast.Reducer:
        kind = typing.cast(ast.ReducerKind, name)
        arg: ast.Property | ast.ParentRef | ast.ContextRef | None = None
        cast: ast.Cast | None = None
        min_count: int | None = None
        if kind != "count":
            arg = self.parse_reducer_arg(name)
            if self.at_word("as"):
                as_token = self.advance()
                allowed = ast.CASTS.get(name, ())
                target = self.peek()
                if not allowed:
                    self.fail("invalid_cast", f"`{name}()` takes no `as` type", as_token)
                if target.kind != "ident" or target.text not in allowed:
                    self.fail(
                        "invalid_cast",
                        f"`{name}()` can read values `as` {' or '.join(allowed)}",
                        target,
                    )
                cast = typing.cast(ast.Cast, self.advance().text)
            if kind == "mode":
                if not self.at(","):
                    self.fail(
                        "invalid_argument",
                        "`mode()` needs a minimum frequency",
                        self.peek(),
                        "e.g. `mode(property('category'), 2)`",
                    )
                self.advance()
                number = self.peek()
                if number.kind != "number" or not isinstance(number.value, int):
                    self.unexpected("a whole number (the minimum frequency)")
                min_count = int(self.advance().value)
        self.close(name)
        return ast.Reducer(
            stream=stream,
            kind=kind,
            arg=arg,
            cast=cast,
            min_count=min_count,
            span=self.span(start),
        )

    def parse_reducer_arg(self, name: str) -> ast.Property | ast.ParentRef | ast.ContextRef:
        token = self.peek()
        if not (token.kind == "ident" and token.text in ("property", "context")):
            self.fail(
                "invalid_argument",
                f"`{name}()` takes `property('...')` or `context('...')`",
                token,
                f"e.g. `{name}(property('price'))`",
            )
        self.advance()
        self.expect("(", f"`(` after `{token.text}`")
        ref: ast.Property | ast.ParentRef | ast.ContextRef
        if token.text == "property":
            ref = self.parse_property_ref(token)
        else:
            argument = self.parse_string(
                "`context()` takes a quoted path, e.g. context('page.url')"
            )
            ref = ast.ContextRef(path=self.path(argument))
        self.close(token.text)
        return dataclasses.replace(ref, span=self.span(token))

    # --- comparators and arguments --------------------------------------------------------------

    def comparator_args(
        self, op: ast.ComparatorOp, raw: str
    ) -> tuple[ast.Value | ast.Duration, ...]:
        args: tuple[ast.Value | ast.Duration, ...]
        if op in _NO_ARG_OPS:
            if not self.at(")"):
                self.fail("invalid_argument", f"`{raw}()` takes no arguments", self.peek())
            args = ()
        elif op in _VALUE_ARG_OPS:
            args = (self.parse_operand(self.last),)
        elif op in _LIST_OPS:
            args = tuple(self.parse_value_list(raw, closer=")"))
        elif op in _DURATION_OPS:
            args = (self.parse_duration(),)
        else:
            args = (self.parse_literal(f"`{raw}()` takes one constant value"),)
        self.close(raw)
        return args

    def parse_operand(self, after: Token) -> ast.Value:
        token = self.peek()
        if token.kind in ("string", "number", "date"):
            return self.parse_literal("a value")
        if token.kind == "ident":
            node = self.parse_chain()
            self.check_value(node, token, "used as a value")
            return typing.cast(ast.Value, node)
        hint = None
        if token.kind == "op" and token.start == after.end and token.text + after.text in INFIX_OPS:
            hint = f"did you mean `{token.text}{after.text}`?"
        self.unexpected(f"a value after {after.describe()}", hint)

    def parse_literal(self, expected: str) -> ast.Literal:
        token = self.peek()
        if token.kind not in ("string", "number", "date"):
            self.unexpected(expected)
        self.advance()
        return ast.Literal(value=token.value, span=self.span(token))

    def parse_string(self, expected: str) -> Token:
        token = self.peek()
        if token.kind != "string":
            hint = f"quote it: '{token.text}'" if token.kind == "ident" else None
            self.fail("invalid_argument", f"{expected}; found {token.describe()}", token, hint)
        return self.advance()

    def parse_value_list(self, name: str, *, closer: str) -> list[ast.Literal]:
        bracket = self.at("[")
        if bracket:
            self.advance()
        end = "]" if bracket else closer
        if self.at(end):
            self.fail("empty_list", f"`{name}` needs at least one value", self.peek())
        values = [self.parse_literal("a constant value")]
        while self.at(","):
            self.advance()
            values.append(self.parse_literal("a constant value"))
        if bracket:
            self.expect("]", "`,` or `]`")
        return values

    def parse_duration(self) -> ast.Duration:
        number = self.peek()
        if number.kind != "number" or not isinstance(number.value, int) or number.value < 0:
            self.fail(
                "invalid_duration",
                f"expected a whole number of units, found {number.describe()}",
                number,
                "e.g. `7 days` or `12 hours`",
            )
        self.advance()
        unit = self.peek()
        if unit.kind != "ident":
            self.fail(
                "missing_unit",
                f"`{number.text}` needs a unit",
                unit if unit.kind != "eof" else number,
                "e.g. `7 days`; units are seconds, minutes, hours and days",
            )
        if unit.text not in _UNITS:
            hint = _suggest(unit.text, ast.UNITS, "units")
            if unit.text.lower() in _UNITS:
                hint = f"units are lower-case: `{unit.text.lower()}`"
            if unit.text.rstrip("s") in ("week", "month", "year"):
                hint = "count in days, e.g. `14 days`"
            self.fail("unknown_unit", f"unknown time unit `{unit.text}`", unit, hint)
        self.advance()
        return ast.Duration(
            amount=int(number.value), unit=_UNITS[unit.text], span=self.span(number)
        )


def parse(
    text: str,
    *,
    kind: typing.Literal["audience", "trait"] = "audience",
    target: typing.Literal["users", "accounts"] = "users",
) -> ast.Definition:
    """Parse ``text`` into a :class:`~shoal.lang.ast.Definition` (no type checking).

    Raises:
        DefinitionSyntaxError: the text does not follow the grammar.
    """
    return Parser(text).parse_definition(kind, target)
