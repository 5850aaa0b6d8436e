"""Rewrite the golden SQL files: ``python -m tests.engines_sql.regen``."""

from __future__ import annotations

from tests.engines_sql.golden import DIALECTS, GOLDEN_DIR, expected_files


def main() -> None:
    for dialect in DIALECTS:
        target = GOLDEN_DIR / dialect
        target.mkdir(parents=True, exist_ok=True)
        files = expected_files(dialect)
        for stale in set(target.glob("*.sql")) - set(files):
            stale.unlink()
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
        print(f"{dialect}: {len(files)} files in {target}")


if __name__ == "__main__":
    main()
