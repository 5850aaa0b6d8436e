"""Render a definition error for a terminal: message, the source line and carets under the range."""

from __future__ import annotations

import re

from shoal.errors import DefinitionError

__all__ = ["MAX_WIDTH", "render_error"]

#: Longest source excerpt shown; longer lines are cut to a window around the error.
MAX_WIDTH = 100


def render_error(text: str, err: DefinitionError) -> str:
    """The error as shown by ``shoal check`` and ``shoal eval``.

    >>> from shoal.errors import DefinitionSyntaxError
    >>> err = DefinitionSyntaxError("unknown function `withn`", code="unknown_function",
    ...     line=1, col=12, end_col=17, hint="did you mean `within`?")
    >>> print(render_error("event('X').withn(7 days).count() >= 1", err))
    error[unknown_function] at 1:12: unknown function `withn`
    event('X').withn(7 days).count() >= 1
               ^^^^^
    hint: did you mean `within`?
    """
    out = [f"error[{err.code}] at {err.line}:{err.col}: {err.message}"]
    # The tokenizer counts lines the same way; str.splitlines would also split on \f, \x1c, ...
    lines = re.split(r"\r\n|\n|\r", text) if text else []
    if 1 <= err.line <= len(lines) or (err.line == 1 and not lines):
        source = lines[err.line - 1] if lines else ""
        start = max(err.col - 1, 0)
        width = max(err.end_col - err.col, 1)
        if start < len(source):
            width = min(width, len(source) - start)
        if len(source) > MAX_WIDTH:
            # Show a window around the error rather than a line that wraps many times.
            lo = max(0, min(start - 30, len(source) - MAX_WIDTH))
            hi = min(len(source), lo + MAX_WIDTH)
            lead = "..." if lo else ""
            source = lead + source[lo:hi] + ("..." if hi < len(source) else "")
            start = start - lo + len(lead)
            width = max(1, min(width, hi - lo + len(lead) - start))
        # Keep tabs in the prefix so the carets line up however the terminal expands them.
        prefix = "".join(ch if ch == "\t" else " " for ch in source[:start])
        prefix += " " * (start - len(source[:start]))
        out += [source, prefix + "^" * width]
    if err.hint:
        out.append(f"hint: {err.hint}")
    return "\n".join(out)
