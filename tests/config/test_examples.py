"""The shipped example configs load with no environment variable set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scheduler.config import load_config
from scheduler.durations import Duration
from scheduler.model import ChannelType

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize("name", ["inf-treaty.yaml", "milestones.yaml", "channels-tour.yaml"])
def test_example_loads_without_environment(name: str) -> None:
    config = load_config(CONFIG_DIR / name, env={})
    assert config.milestones
    assert config.channels


def test_inf_treaty_timeline() -> None:
    config = load_config(CONFIG_DIR / "inf-treaty.yaml", env={})
    notice = config.milestone("us-notice")
    effective = config.milestone("withdrawal-effective")
    assert notice is not None and effective is not None
    assert notice.at == date(2019, 2, 2)
    assert notice.timezone == "Europe/Brussels"
    assert (effective.after, effective.offset) == ("us-notice", Duration(months=6))
    assert [d.short() for d in effective.remind] == ["60d", "30d", "7d", "1d", "0"]
    suspension = config.milestone("russia-suspension")
    assert suspension is not None and suspension.at == date(2019, 7, 3)
    anniversary = config.milestone("inf-anniversary")
    assert anniversary is not None and anniversary.rrule == "FREQ=YEARLY"
    assert config.channels["newsroom"].type is ChannelType.SLACK
    assert config.channels["audit"].secret is not None


def test_environment_overrides_example_defaults() -> None:
    env = {"SLACK_WEBHOOK_URL": "https://chat.example/hook", "AUDIT_SECRET": "whsec_dGVzdA=="}
    config = load_config(CONFIG_DIR / "inf-treaty.yaml", env=env)
    assert config.channels["newsroom"].url == "https://chat.example/hook"
    assert config.channels["audit"].secret == "whsec_dGVzdA=="


def test_whole_config_directory_loads() -> None:
    # every example lives in one directory; ids and channel names must not clash
    # across them for `-c config/` to work, so load each alone and compare ids
    ids = [
        {m.id for m in load_config(CONFIG_DIR / name, env={}).milestones}
        for name in ("inf-treaty.yaml", "milestones.yaml")
    ]
    assert not ids[0] & ids[1]
