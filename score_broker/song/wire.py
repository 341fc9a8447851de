"""Song's answers as JSON bytes that can always be written, whatever an older database holds.

The fast path is plain UTF-8 JSON. Values no longer accepted but possibly stored by an older
broker (lone surrogates, NaN, deep nesting) fall back to an escaped, cut-down rendering rather
than failing the whole answer.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

log = logging.getLogger(__name__)

#: Containers nested deeper than this are written as null in the fallback rendering.
RENDER_DEPTH = 256


def _renderable(value: Any) -> Any:
    """A copy json.dumps always writes: non-finite floats and too-deep containers become null."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]
    while stack:
        item, target, key, depth = stack.pop()
        if isinstance(item, dict | list | tuple) and depth > RENDER_DEPTH:
            target[key] = None
        elif isinstance(item, dict):
            copy = dict.fromkeys(item)
            target[key] = copy
            stack.extend((child, copy, k, depth + 1) for k, child in item.items())
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            target[key] = items
            stack.extend((child, items, i, depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            target[key] = None
        else:
            target[key] = item
    return root[0]


def wire_json(content: Any) -> bytes:
    """Compact UTF-8 JSON; lone surrogates escaped, NaN and too-deep values null if present."""
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (ValueError, RecursionError) as error:
        log.warning("an answer holds a value JSON cannot carry; written escaped: %s", error)
    safe = json.dumps(_renderable(content), allow_nan=False, separators=(",", ":"))
    return safe.encode("ascii")
