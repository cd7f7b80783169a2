"""Ports from the command line and the environment, through the real console script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scheduler.cli import build_parser, settings_for
from scheduler.errors import UsageError
from scheduler.settings import Settings
from tests.test_cli_offline import REPO, TMINUS


def tminus(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TMINUS_")}
    return subprocess.run(
        [TMINUS, *args],
        cwd=REPO,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http", "80.5", ""])
def test_run_port_flag_out_of_range_is_usage_error(port: str, tmp_path: Path) -> None:
    done = tminus(
        "run", "-c", str(tmp_path / "none.yaml"), "--database-url", "sqlite://", "--port", port
    )
    assert done.returncode == 2, done.stderr
    assert "argument --port" in done.stderr and "0-65535" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("port", ["99999", "http", "-5", " "])
def test_bad_tminus_port_is_usage_error_naming_the_variable(port: str, tmp_path: Path) -> None:
    done = tminus(
        "run",
        "-c",
        str(tmp_path / "none.yaml"),
        "--database-url",
        f"sqlite:///{tmp_path / 'x.db'}",
        env={"TMINUS_PORT": port},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("tminus run: error: TMINUS_PORT: ")
    assert "0-65535" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_bad_tminus_port_stops_other_commands_too() -> None:
    done = tminus("check", "-c", "config/inf-treaty.yaml", env={"TMINUS_PORT": "nope"})
    assert done.returncode == 2
    assert done.stderr == (
        "tminus check: error: TMINUS_PORT: expected a port number 0-65535, got 'nope'\n"
    )


def test_port_flag_overrides_a_bad_tminus_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMINUS_PORT", "nope")
    args = build_parser().parse_args(["run", "--port", "9001"])
    assert settings_for(args).port == 9001
    with pytest.raises(UsageError, match="TMINUS_PORT"):
        settings_for(build_parser().parse_args(["run"]))


@pytest.mark.parametrize(("text", "port"), [("0", 0), ("8080", 8080), ("65535", 65535)])
def test_from_env_accepts_valid_ports(text: str, port: int) -> None:
    assert Settings.from_env({"TMINUS_PORT": text}).port == port
    assert Settings.from_env({}).port == 8080
    assert Settings.from_env({"TMINUS_PORT": ""}).port == 8080  # empty: unset, as in compose


@pytest.mark.parametrize("text", ["65536", "99999", "abc", " ", "٣", "8080x"])
def test_from_env_rejects_bad_ports(text: str) -> None:
    with pytest.raises(UsageError, match=r"^TMINUS_PORT: "):
        Settings.from_env({"TMINUS_PORT": text})
