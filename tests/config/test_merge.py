"""A directory of config files: merged in name order, ids unique across files."""

from __future__ import annotations

from pathlib import Path

from tests.config.helpers import errors, load, write


def test_directory_merges_yaml_and_yml_sorted_by_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "b.yml",
        """
        version: 1
        timezone: America/New_York
        milestones:
          - {id: second, title: Second, after: first, offset: 1d}
        """,
    )
    write(
        tmp_path,
        "a.yaml",
        """
        version: 1
        timezone: Europe/Brussels
        defaults: {notify: [team], remind: [7d]}
        channels:
          team: {type: slack, url: "https://chat.example/hook"}
        milestones:
          - {id: first, title: First, at: 2030-01-01}
        """,
    )
    write(tmp_path, "notes.txt", "not: yaml: at all:")
    write(tmp_path, ".hidden.yaml", "{{{")
    config = load(tmp_path)
    assert [m.id for m in config.milestones] == ["first", "second"]
    assert list(config.channels) == ["team"]
    assert config.sources == (str(tmp_path / "a.yaml"), str(tmp_path / "b.yml"))
    first, second = config.milestones
    # each file's timezone and defaults apply to its own milestones only
    assert (first.timezone, first.notify, [str(d) for d in first.remind]) == (
        "Europe/Brussels",
        ("team",),
        ["7d"],
    )
    assert (second.timezone, second.notify, [str(d) for d in second.remind]) == (
        "America/New_York",
        (),
        ["0"],
    )
    assert config.timezone == "Europe/Brussels"


def test_channels_and_after_resolve_across_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        "1-channels.yaml",
        'version: 1\nchannels:\n  ops: {type: discord, url: "https://d.example/x"}\n',
    )
    write(
        tmp_path,
        "2-milestones.yaml",
        "version: 1\nmilestones:\n  - {id: a, title: A, at: 2030-01-01, notify: [ops]}\n",
    )
    config = load(tmp_path)
    assert config.milestones[0].notify == ("ops",)


def test_duplicate_milestone_id_across_files_names_both_places(tmp_path: Path) -> None:
    first = write(
        tmp_path, "a.yaml", "version: 1\nmilestones:\n  - id: x\n    title: X\n    at: 2030-01-01\n"
    )
    second = write(
        tmp_path, "b.yaml", "version: 1\nmilestones:\n  - {id: x, title: Y, at: 2030-01-02}\n"
    )
    assert errors(tmp_path) == [
        f"{second}:3:10: duplicate milestone id 'x' (first defined at {first}:3:9) "
        "(at milestones[0].id)"
    ]


def test_duplicate_channel_name_across_files(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "a.yaml",
        'version: 1\nchannels:\n  ops: {type: slack, url: "https://a.example/"}\n',
    )
    second = write(
        tmp_path,
        "b.yaml",
        'version: 1\nchannels:\n  ops: {type: slack, url: "https://b.example/"}\n',
    )
    assert errors(tmp_path) == [
        f"{second}:3:3: duplicate channel name 'ops' (first defined at {first}:3:3) "
        "(at channels.ops)"
    ]


def test_after_cycle_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\nmilestones:\n  - {id: a, title: A, after: b}\n")
    b = write(tmp_path, "b.yaml", "version: 1\nmilestones:\n  - {id: b, title: B, after: a}\n")
    found = errors(tmp_path)
    assert found == [
        f"{tmp_path / 'a.yaml'}:3:30: after cycle: a -> b -> a (at milestones[0].after)"
    ]
    assert str(b) not in found[0]
