"""Tokenizer for the query language: text → tokens with offsets and 1-based line/column."""

from __future__ import annotations

import math
import re
import typing
from dataclasses import dataclass

from shoal.errors import DefinitionSyntaxError

__all__ = ["KEYWORDS", "Token", "TokenKind", "Tokenizer", "tokenize"]

TokenKind = typing.Literal["ident", "keyword", "string", "number", "date", "op", "punct", "eof"]

#: Junction keywords, matched case-insensitively and stored upper-case.
KEYWORDS = frozenset({"AND", "OR", "NOT", "ANY", "ALL"})

_PUNCT = frozenset("()[]{},.:")
_OPS = ("==", "!=", ">=", "<=", "=", ">", "<")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = frozenset("0123456789")
_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_IDENT_CHARS = _IDENT_START | _DIGITS
# An unquoted date or ISO-8601 timestamp, as used by literal(...) and before_date(...).
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![A-Za-z0-9_.:])",
    re.ASCII,
)
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Escapes that stand for the escaped character; any other backslash is kept as written so that
# `\.` (a literal dot in a trait or property path) survives to path splitting.
_ESCAPES = frozenset("'\"\\")
# After these a `.` starts a call (`x.count()`), elsewhere `.5` is a number.
_VALUE_END = frozenset({")", "]", "}"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """One token; ``value`` is decoded (string contents, parsed number, upper-case keyword)."""

    kind: TokenKind
    text: str
    value: str | int | float
    start: int
    end: int
    line: int
    col: int
    end_line: int
    end_col: int

    def describe(self) -> str:
        """How to name this token in an error message."""
        if self.kind == "eof":
            return "end of input"
        text = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return f"`{text}`"


class Tokenizer:
    """Splits one definition into tokens; raises :class:`DefinitionSyntaxError` on bad text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", text)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based offset."""
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def error(self, code: str, message: str, start: int, end: int, hint: str | None = None) -> None:
        line, col = self.position(start)
        end_line, end_col = self.position(max(end, start + 1))
        if end_line != line:
            end_col = col + 1
        raise DefinitionSyntaxError(
            message, code=code, line=line, col=col, end_col=end_col, hint=hint
        )

    def _token(
        self, kind: TokenKind, start: int, end: int, value: str | int | float | None = None
    ) -> Token:
        text = self.text[start:end]
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Token(
            kind=kind,
            text=text,
            value=text if value is None else value,
            start=start,
            end=end,
            line=line,
            col=col,
            end_line=end_line,
            end_col=end_col,
        )

    def tokens(self) -> list[Token]:
        text = self.text
        out: list[Token] = []
        i = 0
        n = len(text)
        while i < n:
            ch = text[i]
            if ch.isspace():
                i += 1
                continue
            prev = out[-1] if out else None
            if ch in "'\"":
                token = self._string(i)
            elif ch in _DIGITS or (
                ch in "-." and _starts_number(text, i, prev_is_value=_is_value_end(prev))
            ):
                token = self._number(i)
            elif ch in _IDENT_START:
                m = _IDENT.match(text, i)
                assert m is not None
                word = m.group()
                if word.upper() in KEYWORDS:
                    token = self._token("keyword", i, m.end(), word.upper())
                else:
                    token = self._token("ident", i, m.end())
            elif ch in _PUNCT:
                token = self._token("punct", i, i + 1)
            else:
                op = next((o for o in _OPS if text.startswith(o, i)), None)
                if op is None:
                    hint = (
                        "comparisons use `=`, `!=`, `>`, `>=`, `<` or `<=`" if ch == "!" else None
                    )
                    if ch in "&|":
                        hint = "junctions are written AND / OR"
                    self.error(
                        "unexpected_character", f"unexpected character {ch!r}", i, i + 1, hint
                    )
                    raise AssertionError("unreachable")
                token = self._token("op", i, i + len(op))
            out.append(token)
            i = token.end
        out.append(self._token("eof", n, n, ""))
        return out

    def _string(self, start: int) -> Token:
        quote = self.text[start]
        parts: list[str] = []
        i = start + 1
        n = len(self.text)
        while i < n:
            ch = self.text[i]
            if ch == "\\" and i + 1 < n:
                nxt = self.text[i + 1]
                parts.append(nxt if nxt in _ESCAPES else ch + nxt)
                i += 2
            elif ch == quote:
                return self._token("string", start, i + 1, "".join(parts))
            else:
                parts.append(ch)
                i += 1
        self.error(
            "unterminated_string",
            "string is not closed",
            start,
            start + 1,
            f"add the closing {quote} (write \\{quote} for a quote inside the string)",
        )
        raise AssertionError("unreachable")

    def _number(self, start: int) -> Token:
        date = _DATE.match(self.text, start)
        if date:
            return self._token("date", start, date.end(), date.group())
        m = _NUMBER.match(self.text, start)
        if m is None:
            self.error("unexpected_character", "a `-` must start a number", start, start + 1)
            raise AssertionError("unreachable")
        text = m.group()
        end = m.end()
        if end < len(self.text) and self.text[end] in _IDENT_CHARS:
            word = _IDENT.match(self.text, end)
            # `7days` is a number and a unit; `12abc3` or `1.2.3` is a typo worth pointing at.
            if word is None or not word.group().isalpha():
                self.error("invalid_number", f"invalid number {text!r}", start, end + 1)
        value: int | float
        if re.fullmatch(r"-?\d+", text):
            value = int(text)
        else:
            value = float(text)
            if not math.isfinite(value):
                self.error("invalid_number", f"number {text} is too large", start, end)
        return self._token("number", start, end, value)


def _is_value_end(token: Token | None) -> bool:
    if token is None:
        return False
    if token.kind in ("ident", "string", "number", "date"):
        return True
    return token.kind == "punct" and token.text in _VALUE_END


def _starts_number(text: str, i: int, *, prev_is_value: bool) -> bool:
    rest = text[i : i + 3]
    if rest.startswith("-"):
        rest = rest[1:]
        return rest[:1] in _DIGITS or (rest[:1] == "." and rest[1:2] in _DIGITS)
    # `.` right after a value is the chain delimiter (`x.count()`), never a fraction.
    return not prev_is_value and rest[1:2] in _DIGITS


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with one ``eof`` token."""
    return Tokenizer(text).tokens()
