"""The report languages, English and Norwegian bokmål, and a text in both (no dependencies)."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "nb")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class LocalText:
    """A text for the report in English and Norwegian bokmål."""

    en: str
    nb: str

    def format(self, **values: object) -> LocalText:
        """Fill ``{placeholders}``; a LocalText value gives each language its own text."""
        en = {k: v.en if isinstance(v, LocalText) else v for k, v in values.items()}
        nb = {k: v.nb if isinstance(v, LocalText) else v for k, v in values.items()}
        return LocalText(self.en.format(**en), self.nb.format(**nb))

    def get(self, language: str) -> str:
        return self.nb if language == "nb" else self.en

    def to_dict(self) -> dict[str, str]:
        return {"en": self.en, "nb": self.nb}
