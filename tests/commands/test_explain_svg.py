"""``tminus explain MILESTONE --svg FILE``: the milestone's after chain as a picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

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
