"""The acknowledge-link settings: a public URL needs a usable key, from the environment
or a file; without a public URL there are no links."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import TminusError
from scheduler.settings import Settings

KEY = "a-key-of-enough-characters"


def test_no_public_url_no_links() -> None:
    assert Settings.from_env({"TMINUS_SECRET_KEY": KEY}).ack_links() is None


def test_key_from_the_environment() -> None:
    env = {"TMINUS_PUBLIC_URL": "https://t.example.org/", "TMINUS_SECRET_KEY": KEY}
    settings = Settings.from_env(env)
    links = settings.ack_links()
    assert links is not None and links.key == KEY
    assert KEY not in repr(settings)  # a Secret: never in a repr or a traceback


def test_key_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(KEY + "\n")
    env = {"TMINUS_PUBLIC_URL": "https://t.example.org", "TMINUS_SECRET_KEY_FILE": str(path)}
    links = Settings.from_env(env).ack_links()
    assert links is not None and links.key == KEY


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TMINUS_PUBLIC_URL": "https://t.example.org"}, "set TMINUS_SECRET_KEY"),
        ({"TMINUS_PUBLIC_URL": "https://t.example.org", "TMINUS_SECRET_KEY": ""}, "set TMINUS"),
        ({"TMINUS_PUBLIC_URL": "https://t.example.org", "TMINUS_SECRET_KEY": "short"}, "too short"),
        (
            {
                "TMINUS_PUBLIC_URL": "https://t.example.org",
                "TMINUS_SECRET_KEY_FILE": "/nonexistent",
            },
            "cannot read /nonexistent",
        ),
        ({"TMINUS_PUBLIC_URL": "t.example.org", "TMINUS_SECRET_KEY": KEY}, "http(s) URL"),
    ],
)
def test_unusable_settings_say_what_to_do(env: dict[str, str], message: str) -> None:
    with pytest.raises(TminusError) as caught:
        Settings.from_env(env).ack_links()
    assert message in str(caught.value)
    assert caught.value.exit_code == 1
