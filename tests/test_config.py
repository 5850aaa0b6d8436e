"""Settings: defaults < shoal.toml < SHOAL_* env < flags; every setting documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.config import SETTINGS, Settings, load_settings
from shoal.errors import ConfigError


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}) == Settings()
    toml = tmp_path / "shoal.toml"
    toml.write_text('[shoal]\nport = 9000\nhost = "0.0.0.0"\ndata = "from-toml"\n')
    conf = load_settings(config_file=toml, environ={"SHOAL_PORT": "9100"})
    assert (conf.port, conf.host, conf.data) == (9100, "0.0.0.0", Path("from-toml"))
    assert conf.with_overrides(port=9200, host=None).port == 9200


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("port = 'x'\n", "port"),
        ("colour = 1\n", "colour"),
        ("port = [\n", None),
    ],
)
def test_invalid_files_say_where(tmp_path: Path, text: str, location: str | None) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=toml, environ={})
    assert str(toml) in str(err.value.location)
    if location:
        assert location in str(err.value.location)


def test_bad_env_value() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"SHOAL_PORT": "eighty"})
    assert err.value.location == "SHOAL_PORT"


def test_every_setting_is_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in doc
        assert f"SHOAL_{setting.name.upper()}" in doc
