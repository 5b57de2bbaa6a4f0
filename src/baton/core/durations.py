"""Durations as people write them in settings: ``30s``, ``500ms``, ``2m``, ``1h``, or a plain number of seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*", re.IGNORECASE)


def parse_duration(text: str | float) -> float:
    """Seconds in ``text``; raises ValueError naming the accepted forms when it is not a duration."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a duration (write it like 30s, 500ms, 2m, 1h or 30)")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{text!r} is not a duration of zero seconds or more")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of ``500ms``, ``30s``, ``2m`` that says ``seconds`` exactly (for --help and messages)."""
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
