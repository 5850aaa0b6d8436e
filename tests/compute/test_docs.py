"""The definitions file shown in docs/realtime.md is valid and runs."""

from __future__ import annotations

import re
from pathlib import Path

from shoal.compute.definitions import parse_definitions

DOC = Path(__file__).parents[2] / "docs" / "realtime.md"


def test_documented_definitions_file_is_valid() -> None:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    loaded = parse_definitions(block.group(1), fmt="yaml", location=str(DOC))
    keys = [d.key for d in loaded.of("default")]
    assert "big_spenders" in keys
    assert keys.index("lifetime_value") < keys.index("big_spenders")
