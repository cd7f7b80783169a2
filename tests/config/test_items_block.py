"""A text the fast route reads passes ``needs_pyyaml``; so does its items block, which
the first load then holds as segments without asking again (``standalone``'s
``in_fast_text``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scheduler.config.items import block, standalone
from scheduler.config.parse import needs_pyyaml

# Lines of the head, items and tail, with what needs_pyyaml looks for here and there.
HEAD = ["version: 1", "---", "# --- a comment", "defaults: {remind: [0o17]}", "x: +.5", "..."]
ITEM = [
    "  title: a ... b",
    "  title: '...'",
    "  n: 0o17",
    "  n: +.5",
    "  t: !tag x",
    "  t: a!b",
    "...",
    "... x",
    "---",
    "  d: x---y",
    "  # ...",
    "  r: [1, +.5]",
]
TAIL = ["channels: {}", "...", "---", "digests: !x []", "# end"]


@st.composite
def documents(draw: st.DrawFn) -> str:
    head = draw(st.lists(st.sampled_from(HEAD), max_size=3))
    items = []
    for i in range(draw(st.integers(1, 4))):
        items.append(f"- id: m{i}")
        items.extend(draw(st.lists(st.sampled_from(ITEM), max_size=3)))
    tail = draw(st.lists(st.sampled_from(TAIL), max_size=2))
    end = draw(st.sampled_from(["\n", ""]))
    return "\n".join([*head, "milestones:", *items, *tail]) + end


@given(documents())
def test_the_items_block_of_a_text_that_passes_needs_pyyaml_passes_too(text: str) -> None:
    found = block(text)
    if found is None or needs_pyyaml(text):
        return
    items = text[found[0] : found[1]]
    assert not needs_pyyaml(items)
    assert standalone(items, in_fast_text=True) == standalone(items)


def test_a_block_that_needs_pyyaml_is_not_standalone_unless_its_text_passed() -> None:
    items = "- id: a\n  n: 0o17\n"
    assert not standalone(items)
    assert standalone(items, in_fast_text=True)  # the caller vouches for the whole text
