"""JSON values as collapsible HTML (nested ``<details>``), with large values cut short.

A job's input or output can be megabytes; the page shows at most :data:`STRING_CHARS`
characters of a string, :data:`ITEMS` entries of an object or array and :data:`NODES`
values in all, and says what it left out (the full value is one click away as a download).
Everything is escaped here: the result is safe to insert as markup.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from markupsafe import Markup

STRING_CHARS = 400
ITEMS = 100
NODES = 1500
OPEN_DEPTH = 2
"""Objects and arrays this deep or shallower start expanded."""


class _Budget:
    """How many more values may be rendered, and whether anything was left out."""

    def __init__(self, nodes: int) -> None:
        self.left = nodes
        self.cut = False

    def take(self) -> bool:
        if self.left <= 0:
            self.cut = True
            return False
        self.left -= 1
        return True


def render(value: Any) -> tuple[Markup, bool]:
    """``(markup, truncated)`` for a JSON value."""
    budget = _Budget(NODES)
    html = _node(value, 0, budget)
    return Markup(f'<div class="json">{html}</div>'), budget.cut


def _node(value: Any, depth: int, budget: _Budget) -> str:
    if not budget.take():
        return '<span class="cut">…</span>'
    if isinstance(value, dict):
        return _container(list(value.items()), True, depth, budget)
    if isinstance(value, list):
        return _container(list(enumerate(value)), False, depth, budget)
    return _scalar(value, budget)


def _container(items: list[tuple[Any, Any]], is_object: bool, depth: int, budget: _Budget) -> str:
    braces = ("{", "}") if is_object else ("[", "]")
    if not items:
        return f'<span class="p">{braces[0]}{braces[1]}</span>'
    noun = "key" if is_object else "item"
    count = f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"
    rows = []
    for key, child in items[:ITEMS]:
        label = f'<span class="k">{escape(json.dumps(str(key)))}</span>: ' if is_object else ""
        rows.append(f"<li>{label}{_node(child, depth + 1, budget)}</li>")
    if len(items) > ITEMS:
        budget.cut = True
        rows.append(f'<li class="cut">… {len(items) - ITEMS} more {noun}s</li>')
    opened = " open" if depth < OPEN_DEPTH else ""
    return (
        f'<details{opened}><summary><span class="p">{braces[0]}</span> '
        f'<span class="count">{count}</span></summary><ul>{"".join(rows)}</ul>'
        f'<span class="p">{braces[1]}</span></details>'
    )


def _scalar(value: Any, budget: _Budget) -> str:
    if isinstance(value, str):
        shown = value[:STRING_CHARS]
        text = escape(json.dumps(shown, ensure_ascii=False))
        if len(value) > STRING_CHARS:
            budget.cut = True
            more = len(value) - STRING_CHARS
            text += f' <span class="cut">… {more:,} more characters</span>'
        return f'<span class="s">{text}</span>'
    if value is None:
        return '<span class="z">null</span>'
    if isinstance(value, bool):
        return f'<span class="b">{"true" if value else "false"}</span>'
    if isinstance(value, (int, float)):
        return f'<span class="n">{escape(json.dumps(value))}</span>'
    return f'<span class="s">{escape(repr(value))}</span>'
