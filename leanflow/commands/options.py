"""Option values the commands parse before any heavy import, each with a one-line error."""

from __future__ import annotations

from datetime import date

from leanflow.errors import LeanflowError


def parse_day(text: str, option: str) -> date:
    """A YYYY-MM-DD date given to ``option`` (a one-line error otherwise)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise LeanflowError(f"{option}: not a date: '{text}' (expected YYYY-MM-DD)") from None
