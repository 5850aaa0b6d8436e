"""Rewrite the ``--- output`` section of every golden error case: ``python -m tests.lang.regen``."""

from __future__ import annotations

from tests.lang.golden import cases


def main() -> None:
    changed = 0
    for case in cases():
        new = case.dump(case.render())
        if case.path.read_text(encoding="utf-8") != new:
            case.path.write_text(new, encoding="utf-8")
            changed += 1
            print(f"updated {case.path.name}")
    print(f"{changed} golden file(s) changed")


if __name__ == "__main__":
    main()
