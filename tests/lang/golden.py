"""Golden error-message cases: one file per malformed definition in ``golden_errors/``.

File layout::

    kind: audience
    target: users
    --- input
    <definition text, any number of lines>
    --- output
    <what render_error prints>

To add a case, write the header and input and run ``python -m tests.lang.regen``, which fills in
(or refreshes) every ``--- output`` section; review the diff before committing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from shoal import lang
from shoal.errors import DefinitionError

GOLDEN_DIR = Path(__file__).parent / "golden_errors"


@dataclass(frozen=True)
class GoldenCase:
    path: Path
    kind: Literal["audience", "trait"]
    target: Literal["users", "accounts"]
    text: str
    expected: str | None

    def render(self) -> str:
        """The rendered error for this case; raises AssertionError when the text is valid."""
        try:
            lang.compile_definition(self.text, kind=self.kind, target=self.target)
        except DefinitionError as exc:
            return lang.render_error(self.text, exc)
        raise AssertionError(f"{self.path.name}: the definition is valid")

    def dump(self, output: str) -> str:
        return (
            f"kind: {self.kind}\ntarget: {self.target}\n--- input\n{self.text}\n"
            f"--- output\n{output}\n"
        )


def load(path: Path) -> GoldenCase:
    raw = path.read_text(encoding="utf-8")
    header, _, rest = raw.partition("--- input\n")
    text, sep, output = rest.partition("\n--- output\n")
    fields = dict(line.split(": ", 1) for line in header.splitlines() if line.strip())
    return GoldenCase(
        path=path,
        kind=cast(Literal["audience", "trait"], fields.get("kind", "audience")),
        target=cast(Literal["users", "accounts"], fields.get("target", "users")),
        text=text.removesuffix("\n") if not sep else text,
        expected=output.removesuffix("\n") if sep else None,
    )


def cases() -> list[GoldenCase]:
    return [load(p) for p in sorted(GOLDEN_DIR.glob("*.txt"))]
