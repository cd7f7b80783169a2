"""Channel templates in the config: good ones load, each bad one is a located error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scheduler.model import Secret
from tests.config.helpers import errors, load, write

PD_BODY = """\
{"routing_key": "{{ env.PD_KEY }}", "event_action": "trigger", "dedup_key": "{{ delivery_id }}",
 "payload": {"summary": {{ text | tojson }}, "source": "tminus", "severity": "warning"}}"""


def _config(channel_type: str, extra: dict[str, object]) -> str:
    channel: dict[str, object] = {"type": channel_type}
    if channel_type != "apprise":
        channel["url"] = "https://hooks.example.org/treaty"
    else:
        channel["urls"] = ["json://hooks.example.org/treaty"]
    channel.update(extra)
    # JSON is YAML: each key on a line of its own, so the positions are predictable.
    body = json.dumps({"x": channel}, indent=2)
    return f"version: 1\nchannels: {body}\nmilestones: []\n"


GOOD = [
    ("slack", {"template": "{{ countdown }}: *{{ milestone.title }}*"}),
    ("slack", {"template": "{{ milestone.at | date('%a %-d %b %Y') }} {{ reminder.label }}"}),
    ("discord", {"template": "{% for t in milestone.tags %}#{{ t }} {% endfor %}{{ text }}"}),
    ("teams", {"template": "{{ late }} {{ attempt }} {{ ack_url }} {{ reminder.due_at }}"}),
    ("apprise", {"template": "{{ milestone.description }}\n{{ milestone.links | join(' ') }}"}),
    ("webhook", {"body_template": PD_BODY, "template_env": ["PD_KEY"]}),
    ("webhook", {"body_template": '{"text": {{ text | tojson }}, "topic": "deadlines"}'}),
    ("webhook", {"body_template": '{"v": "{{ env.TMINUS_TEMPLATE_TOPIC }}"}'}),
]


@pytest.mark.parametrize(("channel_type", "extra"), GOOD)
def test_good_templates_load(tmp_path: Path, channel_type: str, extra: dict[str, object]) -> None:
    path = write(tmp_path, "c.yaml", _config(channel_type, extra))
    env = {"PD_KEY": "R0UT1NGKEY-0123", "TMINUS_TEMPLATE_TOPIC": "deadlines", "OTHER": "x"}
    config = load(path, env=env)
    templates = config.channels["x"].templates
    assert templates is not None
    assert templates.text == extra.get("template")
    assert templates.body == extra.get("body_template")
    # Only TMINUS_TEMPLATE_* and the listed names are readable, and they are secrets.
    allowed = {"TMINUS_TEMPLATE_TOPIC"} | set(extra.get("template_env", []))  # type: ignore[arg-type]
    assert set(templates.env) == allowed
    assert all(isinstance(v, Secret) for v in templates.env.values())


def test_template_env_values_are_channel_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", _config("webhook", GOOD[5][1]))
    channel = load(path, env={"PD_KEY": "R0UT1NGKEY-0123"}).channels["x"]
    assert "R0UT1NGKEY-0123" in channel.secrets()


def test_a_changed_template_changes_the_fingerprint(tmp_path: Path) -> None:
    a = load(write(tmp_path, "a.yaml", _config("slack", {"template": "{{ text }}"})))
    b = load(write(tmp_path, "b.yaml", _config("slack", {"template": "{{ text }}!"})))
    assert a.channels["x"].fingerprint() != b.channels["x"].fingerprint()


# (channel type, extra keys, key the error is at, words the message must contain).
# The key's line: "type" is line 3 of the channel, the first extra key line 5 (4 with apprise).
BAD = [
    ("slack", {"template": "{% if %}x{% endif %}"}, "template", "syntax error"),
    ("slack", {"template": "ok\n{{ milestone.title }\n"}, "template", "template line 2"),
    ("slack", {"template": "{{ nope }}"}, "template", "unknown variable: 'nope' is undefined"),
    ("slack", {"template": "{{ milestone.nope }}"}, "template", "has no attribute 'nope'"),
    (
        "discord",
        {"template": "{{ ''.__class__.__mro__ }}"},
        "template",
        "not allowed in the sandbox",
    ),
    (
        "teams",
        {"template": "{{ milestone.tags.append('x') }}"},
        "template",
        "not allowed in the sandbox",
    ),
    ("slack", {"template": "{{ cycler.__init__.__globals__ }}"}, "template", "not allowed"),
    (
        "slack",
        {"template": "{{ '{0.__class__.__mro__}'.format(text) }}"},
        "template",
        "not allowed",
    ),
    ("apprise", {"template": "{{ env.HOME }}"}, "template", "has no attribute 'HOME'"),
    ("slack", {"template": "{{ 1 / 0 }}"}, "template", "ZeroDivisionError"),
    ("slack", {"template": "  "}, "template", "must not be empty"),
    ("slack", {"template": 7}, "template", "must be a string, got an integer"),
    (
        "webhook",
        {"template": "{{ text }}"},
        "template",
        "a webhook's body comes from body_template",
    ),
    ("slack", {"body_template": "{}"}, "body_template", "only used by webhook channels"),
    ("slack", {"subject": "{{ text }}"}, "subject", "only used by email channels"),
    ("webhook", {"body_template": "{{ text }}"}, "body_template", "does not render to JSON"),
    ("webhook", {"body_template": '{"a": {{ text }}}'}, "body_template", "does not render to JSON"),
    ("webhook", {"body_template": '{"a": "{{ nope }}"}'}, "body_template", "unknown variable"),
    (
        "webhook",
        {"template_env": ["NOT_SET"], "body_template": "{}"},
        "template_env",
        "NOT_SET is not set",
    ),
    (
        "webhook",
        {"template_env": ["bad name"], "body_template": "{}"},
        "template_env",
        "names environment",
    ),
]


@pytest.mark.parametrize(("channel_type", "extra", "key", "words"), BAD)
def test_bad_template_is_a_located_error(
    tmp_path: Path, channel_type: str, extra: dict[str, object], key: str, words: str
) -> None:
    text = _config(channel_type, extra)
    path = write(tmp_path, "c.yaml", text)
    [problem] = errors(path, env={"HOME": "/root"})
    line = next(n for n, row in enumerate(text.splitlines(), 1) if f'"{key}"' in row)
    where = re.match(rf"^{re.escape(str(path))}:(\d+):(\d+): ", problem)
    assert where is not None, problem
    assert int(where.group(1)) in (line, line + 1), problem  # the key, or the list under it
    assert words in problem, problem
    assert f"channels.x.{key}" in problem


def test_the_failing_line_inside_the_template_is_shown(tmp_path: Path) -> None:
    text = _config("slack", {"template": "{{ countdown }}\n{{ milestone.title }}\n{{ oops }}"})
    [problem] = errors(write(tmp_path, "c.yaml", text))
    assert "(template line 3: {{ oops }})" in problem


def test_a_problem_never_shows_a_template_env_value(tmp_path: Path) -> None:
    body = '{"key": "{{ env.PD_KEY }}" "broken": 1}'
    text = _config("webhook", {"template_env": ["PD_KEY"], "body_template": body})
    [problem] = errors(write(tmp_path, "c.yaml", text), env={"PD_KEY": "R0UT1NGKEY-0123"})
    assert "does not render to JSON" in problem
    assert "R0UT1NGKEY-0123" not in problem


def test_every_bad_template_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = _config(
        "slack",
        {"template": "{{ nope }}", "subject": "x", "body_template": "{}"},
    )
    found = errors(write(tmp_path, "c.yaml", text))
    assert len(found) == 3, found
