"""``type: apprise`` in the config: its ``urls``, located errors that never quote a URL,
and a clear word when the optional extra is not installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.config.helpers import errors, load, write
from tests.support.daemon import tminus

TELEGRAM = "tgram://123456789:AAbbCCddEEffGGhh/987654321"


def test_urls_load_as_secrets_with_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """
        version: 1
        channels:
          phones:
            type: apprise
            urls: ["ntfy://ntfy.example.org/deadlines", "${TELEGRAM_APPRISE_URL}"]
        milestones: []
        """,
    )
    channel = load(path, env={"TELEGRAM_APPRISE_URL": TELEGRAM}).channels["phones"]
    assert channel.apprise_urls == ("ntfy://ntfy.example.org/deadlines", TELEGRAM)
    assert TELEGRAM in channel.secrets()
    assert repr(channel.apprise_urls[1]) == "Secret('***')"


BAD = [
    # (channel body lines, position, words)
    ('type: apprise\n    urls: ["nope://abcdef123456"]', "5:12", "cannot use this nope:// URL"),
    ('type: apprise\n    urls: ["json://ok.example.org", 7]', "5:37", "must be a string"),
    ("type: apprise\n    urls: []", "5:11", "got an empty list"),
    ("type: apprise", "4:5", "missing 'urls'"),
    (
        'type: apprise\n    urls: ["json://ok.example.org"]\n    url: https://x.example.org',
        "6:5",
        "not 'url'",
    ),
    ('type: apprise\n    urls: ["${UNSET_VAR}"]', "5:12", "UNSET_VAR"),
    ('type: slack\n    url: https://hooks.example.org/a\n    urls: ["json://x"]', "6:5", "only"),
]


@pytest.mark.parametrize(("body", "where", "words"), BAD)
def test_bad_apprise_channel_is_located(tmp_path: Path, body: str, where: str, words: str) -> None:
    text = f"version: 1\nchannels:\n  phones:\n    {body}\nmilestones: []\n"
    path = write(tmp_path, "c.yaml", text)
    [problem] = errors(path)
    assert problem.startswith(f"{path}:{where}: "), problem
    assert words in problem, problem
    assert "abcdef123456" not in problem  # a URL is a secret: only its scheme is named


def test_check_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    # A site directory that makes ``import apprise`` fail, as on an install without the extra.
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['apprise'] = None\n")
    config = write(
        tmp_path,
        "c.yaml",
        f"""
        version: 1
        channels:
          phones:
            type: apprise
            urls: ["{TELEGRAM}"]
        milestones: []
        """,
    )
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    result = tminus("check", "-c", str(config), env=env)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert f"{config}:4:11: type apprise needs the optional Apprise extra" in output
    assert "pip install 'tminus[apprise]'" in output
    assert "Traceback" not in output
    assert TELEGRAM not in output and "AAbbCCddEEffGGhh" not in output
