"""The report languages: English and Norwegian bokmål (a light module, no dependencies)."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "nb")
DEFAULT_LANGUAGE = "en"
