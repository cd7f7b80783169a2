"""``url_file`` and ``secret_file``: secrets read from files (Docker, Kubernetes)."""

from __future__ import annotations

from pathlib import Path

from scheduler.model import Secret
from tests.config.helpers import errors, load, write
from tests.support.secrets import assert_no_secret

URL = "https://hooks.example.org/services/abc/def/ghi"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_url_file_and_secret_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "url").write_text(URL + "\n")
    absolute = tmp_path / "secret.txt"
    absolute.write_text(SECRET + "\n\n")
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    (config_dir / "secrets").mkdir()
    (config_dir / "secrets" / "url").write_text(URL + "\n")
    path = write(
        config_dir,
        "c.yaml",
        f"""
        version: 1
        channels:
          audit:
            type: webhook
            url_file: secrets/url
            secret_file: {absolute}
        """,
    )
    channel = load(path).channels["audit"]
    assert channel.url == URL
    assert channel.secret == SECRET
    assert isinstance(channel.url, Secret)
    assert isinstance(channel.secret, Secret)
    assert URL not in repr(channel) and SECRET not in repr(channel)


def test_secret_file_path_may_come_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET)
    path = write(
        tmp_path,
        "c.yaml",
        """
        version: 1
        channels:
          audit: {type: webhook, url: "https://h.example/x", secret_file: "${SECRETS}/s"}
        """,
    )
    assert load(path, env={"SECRETS": str(tmp_path)}).channels["audit"].secret == SECRET


def test_missing_secret_file_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """
        version: 1
        channels:
          audit:
            type: webhook
            url: https://h.example/x
            secret_file: nope.txt
        """,
    )
    assert errors(path) == [
        f"{path}:6:18: secret_file: no such file: {tmp_path / 'nope.txt'} "
        "(at channels.audit.secret_file)"
    ]


def test_secret_in_file_that_is_invalid_is_not_printed(tmp_path: Path) -> None:
    bad = "this is a long private value, not base64"
    (tmp_path / "s").write_text(bad)
    path = write(
        tmp_path,
        "c.yaml",
        'version: 1\nchannels:\n  a: {type: webhook, url: "https://h.example/", secret_file: s}\n',
    )
    found = errors(path)
    assert found == [
        f"{path}:3:62: secret must be 'whsec_' followed by base64 (Standard Webhooks) "
        "(at channels.a.secret_file)"
    ]
    assert_no_secret("\n".join(found), [bad])


def test_bad_url_from_env_is_not_printed(tmp_path: Path) -> None:
    secret_url = "hooks.example.org/services/T000/B000/XXXXXXXXXXXX"
    path = write(tmp_path, "c.yaml", "version: 1\nchannels:\n  a: {type: slack, url: '${U}'}\n")
    found = errors(path, env={"U": secret_url})
    assert found == [f"{path}:3:25: url must be an http:// or https:// URL (at channels.a.url)"]
    assert_no_secret("\n".join(found), [secret_url, "https://" + secret_url])
