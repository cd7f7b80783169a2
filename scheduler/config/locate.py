"""Map a document path (``milestones[3].remind[1]``) to a 1-based line and column.

Walks the composed node tree. A path that goes deeper than the document (a
missing key) stops at the deepest node that exists: a missing ``title`` is
reported at the milestone's mapping.
"""

from __future__ import annotations

import yaml

from scheduler.config.checker import DocPath


def locate(root: yaml.Node | None, path: DocPath, *, on_key: bool = False) -> tuple[int, int]:
    """``(line, column)``, 1-based, of the value (or key) at ``path``."""
    if root is None:
        return 1, 1
    node: yaml.Node = root
    key_node: yaml.Node | None = None
    for part in path:
        child = _child(node, part)
        if child is None:
            key_node = None
            break
        key_node, node = child
    else:
        if on_key and key_node is not None:
            node = key_node
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int) and 0 <= part < len(node.value):
            return None, node.value[part]
        return None
    if isinstance(node, yaml.MappingNode):
        found: tuple[yaml.Node | None, yaml.Node] | None = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                # the last match is the one PyYAML keeps; for a duplicate, point at it
                found = (key_node, value_node)
        return found
    return None
