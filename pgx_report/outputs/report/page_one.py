"""What page 1 of the clinician report shows for the assessment's category.

The clinical rules live in the assessment (``overall.guidance_applies``,
``overall.unanswered``, ``overall.next_steps``, ``overall.completeness``); this module
only picks the language and decides the page-1 layout from them, so the templates keep
to looping and printing. Older assessments without these fields render as before
(guidance shown, no unanswered list).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Categories whose predictor table is not a page-1 item (printed on a later page).
PREDICTORS_LATER: tuple[str, ...] = ("contraindicated",)


def _pick(raw: Any, lang: str) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get(lang), str):
        return str(raw[lang])
    return ""


def page_one(overall: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The page-1 items of ``overall`` (the assessment's ``overall`` object) in ``lang``."""
    category = str(overall.get("category", ""))
    unanswered = [
        {
            "severity": str(item.get("severity", "absolute")),
            "label": _pick(item.get("label"), lang),
            "clarify": _pick(item.get("clarify"), lang),
        }
        for item in overall.get("unanswered") or []
        if isinstance(item, Mapping)
    ]
    steps = overall.get("next_steps")
    next_steps = [str(text) for text in steps.get(lang, [])] if isinstance(steps, Mapping) else []
    return {
        "category": category,
        "guidance_applies": bool(overall.get("guidance_applies", True)),
        "completeness": _pick(overall.get("completeness"), lang) or None,
        "unanswered_absolute": [i for i in unanswered if i["severity"] == "absolute"],
        "unanswered_relative": [i for i in unanswered if i["severity"] != "absolute"],
        "next_steps": next_steps,
        "predictors_on_page_one": category not in PREDICTORS_LATER,
    }
