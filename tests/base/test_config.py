"""Environment variables: read when asked for, parsed in one place, bad values are one-line errors."""

import pytest

from vae_passive import config
from vae_passive.errors import VaePassiveError


def test_values_are_read_when_asked_for(monkeypatch):
    monkeypatch.delenv(config.MIRROR, raising=False)
    assert config.words(config.MIRROR) == []
    monkeypatch.setenv(config.MIRROR, " http://a/  /srv/zoo ")
    assert config.words(config.MIRROR) == ["http://a/", "/srv/zoo"]
    for value, expected in (("1", True), ("Yes", True), ("on", True), ("0", False), ("", False), ("no", False)):
        monkeypatch.setenv(config.OFFLINE, value)
        assert config.flag(config.OFFLINE) is expected


@pytest.mark.parametrize("value", ["-1", "0", "abc", "inf", "nan"])
def test_positive_numbers_refuse_the_rest(monkeypatch, value):
    monkeypatch.setenv(config.MAX_DOWNLOAD_BYTES, value)
    with pytest.raises(VaePassiveError, match=f"{config.MAX_DOWNLOAD_BYTES}='{value}' is not a positive number"):
        config.positive(config.MAX_DOWNLOAD_BYTES, 10)


def test_defaults_and_delays(monkeypatch):
    monkeypatch.delenv(config.MAX_DOWNLOAD_BYTES, raising=False)
    assert config.positive(config.MAX_DOWNLOAD_BYTES, 10) == 10
    monkeypatch.setenv(config.RETRY_BASE, "0")
    assert config.non_negative(config.RETRY_BASE, 1.0) == 0.0
    monkeypatch.setenv(config.RETRY_BASE, "-0.5")
    with pytest.raises(VaePassiveError, match="is not a delay in seconds"):
        config.non_negative(config.RETRY_BASE, 1.0)


def test_every_variable_is_named_here_only():
    from pathlib import Path

    package = Path(config.__file__).parent
    names = {value for key, value in vars(config).items() if key.isupper() and isinstance(value, str)}
    for path in package.rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text()
        assert not [name for name in names if f'"{name}"' in text], path
