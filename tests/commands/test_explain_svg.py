"""``tminus explain MILESTONE --svg FILE``: the milestone's after chain as a picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.test_cli_offline import INF, tminus

SVG = "{http://www.w3.org/2000/svg}"
CHAIN = """\
version: 1
timezone: Europe/Brussels
milestones:
  - id: contract
    title: Contract <signed> & "sealed"
    at: 2030-01-15
    remind: [7d, 0]
  - id: notice
    title: Notice deadline
    after: contract
    offset: 6 months
    remind: [30d, 7d, 0]
  - id: renewal
    title: Renewal
    after: notice
    offset: 90d
  - id: unrelated
    title: Something else
    at: 2030-03-01
"""


def _rows(path: Path) -> list[str | None]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return [g.get("data-row") for g in root.iter(f"{SVG}g") if g.get("data-row")]


def test_explain_draws_the_chain(tmp_path: Path) -> None:
    config = tmp_path / "chain.yaml"
    config.write_text(CHAIN)
    out = tmp_path / "notice.svg"
    done = tminus("explain", "notice", "-c", str(config), "--svg", str(out))
    assert done.returncode == 0, done.stderr
    assert "contract 2030-01-15 + 6 months = 2030-07-15" in done.stdout  # the text as before
    # The milestone, its ancestor and its dependent, soonest first; not the unrelated one.
    assert _rows(out) == ["contract", "notice", "renewal"]
    root = ET.parse(out).getroot()
    arrows = [p.get("data-after") for p in root.iter(f"{SVG}path")]
    assert arrows == ["contract->notice", "notice->renewal"]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert 'Contract <signed> & "sealed"' in titles
    # Every reminder of the chain is in view: 2 + 3 + 1 ticks, due (2030 is ahead).
    states = [e.get("data-state") for e in root.iter(f"{SVG}line") if e.get("data-state")]
    assert states == ["due"] * 6


def test_explain_svg_on_the_inf_example(tmp_path: Path) -> None:
    out = tmp_path / "inf.svg"
    done = tminus("explain", "withdrawal-effective", "-c", INF, "--svg", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert _rows(out) == ["us-notice", "withdrawal-effective"]
    root = ET.parse(out).getroot()
    states = {e.get("data-state") for e in root.iter(f"{SVG}line") if e.get("data-state")}
    assert states == {"not recorded"}  # 2019 has passed; no database is read


def test_explain_svg_to_a_path_that_cannot_be_written(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.svg"
    done = tminus("explain", "us-notice", "-c", INF, "--svg", str(target))
    assert done.returncode == 1
    assert f"cannot write {target}" in done.stderr
    assert "Traceback" not in done.stderr


ESCALATING = """\
version: 1
timezone: Europe/Brussels
channels:
  phones: {type: webhook, url: "http://127.0.0.1:9/phones"}
  legal: {type: webhook, url: "http://127.0.0.1:9/legal"}
defaults:
  notify: [legal]
milestones:
  - id: contract
    title: Contract <script>alert(1)</script>
    at: 2030-01-15
    remind: [7d, 0]
  - id: notice
    title: Notice deadline
    after: contract
    offset: 6 months
    remind: [30d, 0]
    escalate:
      - {at: 2d, notify: [phones]}
      - {at: -1d, notify: [phones, legal]}
"""


def test_explain_draws_the_escalations(tmp_path: Path) -> None:
    config = tmp_path / "escalating.yaml"
    config.write_text(ESCALATING)
    out = tmp_path / "notice.svg"
    done = tminus("explain", "notice", "-c", str(config), "--svg", str(out))
    assert done.returncode == 0, done.stderr
    root = ET.parse(out).getroot()
    marks = [p for p in root.iter(f"{SVG}polygon") if p.get("data-kind") == "escalation"]
    assert [(m.get("data-level"), m.get("data-state")) for m in marks] == [
        ("1", "due"),
        ("2", "due"),
    ]
    # On the notice's row (15 Jul 2030), 2 days before and 1 day after its diamond,
    # each as far from it as the days say.
    (row,) = [g for g in root.iter(f"{SVG}g") if g.get("data-row") == "notice"]
    assert [p for p in row.iter(f"{SVG}polygon") if p.get("data-kind")] == marks
    (diamond,) = [p for p in row.iter(f"{SVG}polygon") if p.get("data-milestone")]
    at_x = float(diamond.get("points", "").split()[0].split(",")[0])
    x1, x2 = (float(m.get("points", "").split()[0].split(",")[0]) for m in marks)
    assert x1 < at_x < x2
    assert (at_x - x1) == pytest.approx(2 * (x2 - at_x), abs=0.15)
    # The window reaches past the last escalation; the legend names the mark.
    assert "escalation" in [t.text for t in root.iter(f"{SVG}text")]
    tips = [m.findtext(f"{SVG}title") for m in marks]
    assert tips[1] == "Notice deadline — escalation 2 · 1 day after → phones, legal, " + (
        "Tue 16 Jul 2030 00:00 CEST: due"
    )
    assert "Contract <script>alert(1)</script>" in [t.text for t in root.iter(f"{SVG}title")]
    assert not any(e.tag == f"{SVG}script" for e in root.iter())
