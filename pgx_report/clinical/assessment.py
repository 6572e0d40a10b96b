"""The assessment: genotype call + questionnaire + knowledge base -> Assessment (pure).

Rules (cut-offs, texts and citations come from the knowledge base; see
``docs/assessment.md`` for the category rules in plain words):

* Each of the six predictors gets a finding: favourable, neutral, unfavourable or
  unknown. A genotype that was not determined is ``unknown``, never A/A.
* Contraindications are checked from the safety answers and the age on the
  questionnaire date. Any absolute contraindication makes the category
  ``contraindicated`` whatever else is true; next, any absolute-contraindication
  question left unanswered makes it ``safety_screen_incomplete``; next, DSM-5 criteria
  recorded and fewer than 2 make it ``indication_not_established``.
* Otherwise the category comes from the five clinical predictors only: the OPRM1
  genotype is shown with its (mixed) evidence but never moves the category.
* Data completeness (predictors recorded, safety screen complete) is stated for every
  category but ``contraindicated``. The older confidence level is still computed for
  ``assessment.json`` and FHIR: it drops with unknown factors and is capped when an
  absolute contraindication could not be checked.

No clock is read: the report date comes from ``SOURCE_DATE_EPOCH`` or the
questionnaire's ``completed_on``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing

from pgx_report import __version__
from pgx_report.clinical.knowledge import FactorDefinition, KnowledgeBase, LocalText
from pgx_report.clinical.questionnaire import (
    Questionnaire,
    json_path,
    questionnaire_schema,
    read_json_file,
)
from pgx_report.errors import InputError, SampleMismatchError, UsageError
from pgx_report.paths import SCHEMA_DIR

log = logging.getLogger(__name__)

SCHEMA_NAME = "pgx-report.assessment"
SCHEMA_VERSION = "1.0"
SCHEMA_PATH = SCHEMA_DIR / "assessment.schema.json"
DEFAULT_LANGUAGE = "en"
UNKNOWN = "unknown"
FAVOURABLE = "favourable"
NEUTRAL = "neutral"
UNFAVOURABLE = "unfavourable"
_CONFIDENCE_ORDER = ("low", "moderate", "high")


# --------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class InputRecord:
    """One input file in the provenance: its role, path as given, and SHA-256."""

    role: str
    path: str
    sha256: str
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "path": self.path, "sha256": self.sha256}
        if self.format is not None:
            out["format"] = self.format
        return out


@dataclass(frozen=True)
class FactorResult:
    id: str
    label: LocalText
    value: Mapping[str, Any]
    value_text: LocalText
    finding: str
    evidence_level: str
    citations: tuple[int, ...]
    explanation: LocalText
    direction: LocalText
    evidence_summary: LocalText

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label.to_dict(),
            "value": dict(self.value),
            "value_text": self.value_text.to_dict(),
            "finding": self.finding,
            "evidence_level": self.evidence_level,
            "citations": list(self.citations),
            "explanation": self.explanation.to_dict(),
            "direction": self.direction.to_dict(),
            "evidence_summary": self.evidence_summary.to_dict(),
        }


@dataclass(frozen=True)
class ContraindicationResult:
    id: str
    severity: str
    label: LocalText
    text: LocalText
    citations: tuple[int, ...]
    instead: LocalText | None = None  # what to do instead (absolute), citations included

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "severity": self.severity,
            "label": self.label.to_dict(),
            "text": self.text.to_dict(),
            "citations": list(self.citations),
        }
        if self.instead is not None:
            out["instead"] = self.instead.to_dict()
        return out


@dataclass(frozen=True)
class UnansweredItem:
    """A safety question the questionnaire leaves unanswered, and what to clarify."""

    id: str
    severity: str  # "absolute" (contraindication not checked) or "relative" (caution)
    label: LocalText
    clarify: LocalText

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "label": self.label.to_dict(),
            "clarify": self.clarify.to_dict(),
        }


@dataclass(frozen=True)
class Overall:
    category: str
    label: LocalText
    confidence: str
    rationale: tuple[LocalText, ...]
    not_validated_notice: LocalText
    unchecked_contraindications: tuple[str, ...] = ()
    age_checked: bool = True
    counts: Mapping[str, int] = field(default_factory=dict)
    # Issue 14 (additive): what page 1 shows for the category.
    completeness: LocalText | None = None  # None for a contraindicated patient
    unanswered: tuple[UnansweredItem, ...] = ()
    guidance_applies: bool = True  # "is an option" sentence and dosing on page 1
    next_steps: tuple[LocalText, ...] = ()  # what to do instead (contraindicated)
    citations: tuple[int, ...] = ()  # reference numbers printed in the rationale

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "label": self.label.to_dict(),
            "confidence": self.confidence,
            "rationale": {
                "en": [item.en for item in self.rationale],
                "nb": [item.nb for item in self.rationale],
            },
            "not_validated_notice": self.not_validated_notice.to_dict(),
            "unchecked_contraindications": list(self.unchecked_contraindications),
            "age_checked": self.age_checked,
            "counts": dict(self.counts),
            "completeness": self.completeness.to_dict() if self.completeness else None,
            "unanswered": [item.to_dict() for item in self.unanswered],
            "guidance_applies": self.guidance_applies,
            "next_steps": {
                "en": [item.en for item in self.next_steps],
                "nb": [item.nb for item in self.next_steps],
            },
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class Assessment:
    """The complete assessment, as written to ``assessment.json`` (see docs/contracts.md)."""

    language: str
    call: Mapping[str, Any]
    patient: Mapping[str, Any]
    sample_id: str
    clinician: Mapping[str, Any] | None
    dates: Mapping[str, Any]
    questionnaire: Mapping[str, Any]
    factors: tuple[FactorResult, ...]
    contraindications: tuple[ContraindicationResult, ...]
    overall: Overall
    genotype_summary: LocalText
    guidance: Mapping[str, LocalText]
    limitations: tuple[LocalText, ...]
    references: tuple[Mapping[str, Any], ...]
    provenance: Mapping[str, Any]
    _source: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def category(self) -> str:
        return self.overall.category

    def factor(self, factor_id: str) -> FactorResult:
        for item in self.factors:
            if item.id == factor_id:
                return item
        raise KeyError(factor_id)

    def to_dict(self) -> dict[str, Any]:
        if self._source is not None:  # loaded from a file: give back exactly what was read
            return copy.deepcopy(dict(self._source))
        return {
            "schema": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "language": self.language,
            "call": copy.deepcopy(dict(self.call)),
            "patient": dict(self.patient),
            "sample_id": self.sample_id,
            "clinician": dict(self.clinician) if self.clinician is not None else None,
            "dates": dict(self.dates),
            "questionnaire": copy.deepcopy(dict(self.questionnaire)),
            "factors": [item.to_dict() for item in self.factors],
            "contraindications": [item.to_dict() for item in self.contraindications],
            "overall": self.overall.to_dict(),
            "genotype_summary": self.genotype_summary.to_dict(),
            "guidance": {key: text.to_dict() for key, text in self.guidance.items()},
            "limitations": [item.to_dict() for item in self.limitations],
            "references": [dict(item) for item in self.references],
            "provenance": copy.deepcopy(dict(self.provenance)),
        }


# --------------------------------------------------------------------------------------
# Small helpers


def _join(items: Sequence[str], last: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _lower_first(text: str) -> str:
    """ "Smoking" -> "smoking" inside a sentence; "OPRM1 ..." stays as it is."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def join_local(items: Sequence[LocalText], *, lower: bool = False) -> LocalText:
    """["a", "b", "c"] -> "a, b and c" / "a, b og c" (``lower``: for use mid-sentence)."""
    fix = _lower_first if lower else str
    return LocalText(
        _join([fix(i.en) for i in items], "and"), _join([fix(i.nb) for i in items], "og")
    )


def _number(value: float | int, language: str) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if language == "nb" else text


def _band(bands: Sequence[Mapping[str, Any]], value: float) -> Mapping[str, Any] | None:
    for band in bands:
        if band["min"] <= value <= band["max"]:
            return band
    return None


def _call_dict(call: Any) -> dict[str, Any]:
    """Accept a ``pgx_report.genotype.vcf.rules.Call`` (anything with ``to_dict``) or a mapping."""
    if hasattr(call, "to_dict"):
        data = call.to_dict()
    elif isinstance(call, Mapping):
        data = call
    else:
        raise TypeError(f"not a genotype call: {type(call).__name__}")
    return copy.deepcopy(dict(data))


def _status_text(kb: KnowledgeBase, status: str) -> LocalText:
    raw = kb.genotype_status["statuses"].get(status, {"en": status, "nb": status})
    return LocalText(raw["en"], raw["nb"])


def _unknown_value_text() -> LocalText:
    return LocalText("not recorded", "ikke registrert")


# --------------------------------------------------------------------------------------
# The six predictors


@dataclass(frozen=True)
class _Finding:
    finding: str
    explanation_key: str
    value: Mapping[str, Any]
    value_text: LocalText
    values: Mapping[str, object] = field(default_factory=dict)


def _severity(q: Questionnaire, spec: FactorDefinition) -> _Finding:
    rule = spec.rule
    dsm5 = q.get("drinking.dsm5_aud_criteria")
    audit = q.get("drinking.audit_score")
    hdd = q.get("drinking.heavy_drinking_days_last_30")
    units = q.get("drinking.drinks_per_drinking_day")
    value = {
        key: item
        for key, item in (
            ("dsm5_aud_criteria", dsm5),
            ("audit_score", audit),
            ("heavy_drinking_days_last_30", hdd),
            ("drinks_per_drinking_day", units),
        )
        if item is not None
    }
    en: list[str] = []
    nb: list[str] = []
    dsm5_band = _band(rule["dsm5_bands"], dsm5) if dsm5 is not None else None
    if dsm5 is not None and dsm5_band is not None:
        en.append(f"DSM-5 {dsm5}/11 ({dsm5_band['en']})")
        nb.append(f"DSM-5 {dsm5}/11 ({dsm5_band['nb']})")
    if audit is not None:
        zone = _band(rule["audit_zones"], audit)
        en.append(f"AUDIT {audit}" + (f" ({zone['en']})" if zone else ""))
        nb.append(f"AUDIT {audit}" + (f" ({zone['nb']})" if zone else ""))
    if hdd is not None:
        en.append(f"{hdd} heavy drinking days in the last 30")
        nb.append(f"{hdd} dager med tung drikking siste 30 dager")
    if units is not None:
        en.append(f"{_number(units, 'en')} units per drinking day")
        nb.append(f"{_number(units, 'nb')} alkoholenheter per drikkedag")
    text = LocalText("; ".join(en), "; ".join(nb)) if en else _unknown_value_text()
    values = {
        "dsm5_severe_min": rule["favourable_dsm5_min"],
        "audit_severe_min": rule["favourable_audit_min"],
    }
    if dsm5 is None and audit is None:
        return _Finding(UNKNOWN, "unknown", value, text, values)
    if dsm5 is not None:  # the DSM-5 count is the severity measure
        if dsm5 >= rule["favourable_dsm5_min"]:
            return _Finding(FAVOURABLE, "favourable", value, text, values)
        below = dsm5_band is not None and dsm5_band["id"] == "below_threshold"
        return _Finding(NEUTRAL, "below_threshold" if below else "neutral", value, text, values)
    # AUDIT alone is a screening score: zone IV only gives "probably severe".
    if audit is not None and audit >= rule["favourable_audit_min"]:
        return _Finding(FAVOURABLE, "probably_severe", value, text, values)
    return _Finding(NEUTRAL, "neutral", value, text, values)


def _family_history(q: Questionnaire, spec: FactorDefinition) -> _Finding:
    minimum = spec.rule["favourable_relatives_min"]
    count = q.get("family_history.first_degree_relatives_with_aud")
    values = {"relatives_min": minimum}
    if count is None:
        return _Finding(UNKNOWN, "unknown", {}, _unknown_value_text(), values)
    if count == 0:
        text = LocalText("none", "ingen")
    elif count == 1:
        text = LocalText("1 first-degree relative", "1 førstegradsslektning")
    else:
        text = LocalText(f"{count} first-degree relatives", f"{count} førstegradsslektninger")
    finding = FAVOURABLE if count >= minimum else NEUTRAL
    return _Finding(finding, finding, {"first_degree_relatives_with_aud": count}, text, values)


def _drinking_motive(q: Questionnaire, spec: FactorDefinition) -> _Finding:
    rule = spec.rule
    motive = q.get("drinking_motive.type")
    gad7 = q.get("drinking_motive.gad7_score")
    value = {k: v for k, v in (("type", motive), ("gad7_score", gad7)) if v is not None}
    en: list[str] = []
    nb: list[str] = []
    if motive is not None:
        label = rule["motive_labels"][motive]
        en.append(label["en"])
        nb.append(label["nb"])
    if gad7 is not None:
        band = _band(rule["gad7_bands"], gad7)
        en.append(f"GAD-7 {gad7}" + (f" ({band['en']})" if band else ""))
        nb.append(f"GAD-7 {gad7}" + (f" ({band['nb']})" if band else ""))
    text = LocalText("; ".join(en), "; ".join(nb)) if en else _unknown_value_text()
    values = {"gad7_high_min": rule["high_anxiety_gad7_min"]}
    if motive is None and gad7 is None:
        return _Finding(UNKNOWN, "unknown", value, text, values)
    base = rule["motive_findings"][motive] if motive is not None else NEUTRAL
    high_anxiety = gad7 is not None and gad7 >= rule["high_anxiety_gad7_min"]
    if not high_anxiety:
        key = {FAVOURABLE: "favourable", UNFAVOURABLE: "relief"}.get(base, "neutral")
        return _Finding(base, key, value, text, values)
    # High anxiety moves the finding one step towards unfavourable.
    if base == FAVOURABLE:
        return _Finding(NEUTRAL, "reward_high_anxiety", value, text, values)
    key = "relief" if base == UNFAVOURABLE else "high_anxiety"
    return _Finding(UNFAVOURABLE, key, value, text, values)


def _sweet_liking(q: Questionnaire, spec: FactorDefinition) -> _Finding:
    answer = q.get("sweet_liking")
    if answer is None:
        return _Finding(UNKNOWN, "unknown", {}, _unknown_value_text())
    label = spec.rule["value_labels"][answer]
    finding = spec.rule["value_findings"][answer]
    return _Finding(finding, finding, {"sweet_liking": answer}, LocalText(label["en"], label["nb"]))


def _smoking(q: Questionnaire, spec: FactorDefinition) -> _Finding:
    rule = spec.rule
    status = q.get("smoking.status")
    per_day = q.get("smoking.cigarettes_per_day")
    value = {
        k: v for k, v in (("status", status), ("cigarettes_per_day", per_day)) if v is not None
    }
    if status is None and per_day is not None:
        status = "current" if per_day > 0 else None
    if status is None:
        if per_day == 0:
            text = LocalText("0 cigarettes per day", "0 sigaretter per dag")
            return _Finding(NEUTRAL, "neutral", value, text)
        return _Finding(UNKNOWN, "unknown", value, _unknown_value_text())
    label = rule["status_labels"][status]
    en, nb = label["en"], label["nb"]
    if per_day is not None and status == "current":
        en += f", {per_day} cigarettes per day"
        nb += f", {per_day} sigaretter per dag"
    finding = rule["status_findings"][status]
    return _Finding(finding, finding, value, LocalText(en, nb))


def _genotype(call: Mapping[str, Any], kb: KnowledgeBase, spec: FactorDefinition) -> _Finding:
    status = str(call.get("status"))
    genotype = call.get("genotype")
    findings = spec.rule["genotype_findings"]
    if status == "called" and isinstance(genotype, str) and genotype in findings:
        finding = findings[genotype]
        value = {"status": status, "genotype": genotype}
        return _Finding(
            finding, finding, value, LocalText(genotype, genotype), {"genotype": genotype}
        )
    label = _status_text(kb, status)
    text = LocalText(f"not determined ({label.en})", f"ikke bestemt ({label.nb})")
    return _Finding(
        UNKNOWN,
        "unknown",
        {"status": status, "genotype": None},
        text,
        {"status": label, "genotype": "-"},
    )


def _genotype_summary(call: Mapping[str, Any], kb: KnowledgeBase) -> LocalText:
    status = str(call.get("status"))
    genotype = call.get("genotype")
    texts = kb.genotype_status
    if status == "called" and isinstance(genotype, str):
        key = "carrier" if call.get("carrier") else "non_carrier"
        raw = texts["called"][key]
        return LocalText(raw["en"], raw["nb"]).format(genotype=genotype)
    label = _status_text(kb, status)
    raw = texts["not_determined"]
    codes = [str(code) for code in call.get("reason_codes") or []]
    if codes:  # the codes go right after the status, before the advice
        label = LocalText(f"{label.en} ({', '.join(codes)})", f"{label.nb} ({', '.join(codes)})")
    return LocalText(raw["en"].format(status=label.en), raw["nb"].format(status=label.nb))


def evaluate_factors(
    call: Mapping[str, Any], questionnaire: Questionnaire, kb: KnowledgeBase
) -> tuple[FactorResult, ...]:
    """The six predictors in report order."""
    results: list[FactorResult] = []
    for spec in kb.factors:
        if spec.id == "oprm1_genotype":
            found = _genotype(call, kb, spec)
        else:
            found = _CLINICAL_RULES[spec.id](questionnaire, spec)
        results.append(
            FactorResult(
                id=spec.id,
                label=spec.label,
                value=found.value,
                value_text=found.value_text,
                finding=found.finding,
                evidence_level=spec.evidence_level,
                citations=spec.citations,
                explanation=spec.explanation(found.explanation_key, **found.values),
                direction=spec.direction,
                evidence_summary=spec.evidence_summary,
            )
        )
    return tuple(results)


_CLINICAL_RULES = {
    "severity": _severity,
    "family_history": _family_history,
    "drinking_motive": _drinking_motive,
    "sweet_liking": _sweet_liking,
    "smoking": _smoking,
}


# --------------------------------------------------------------------------------------
# Contraindications


@dataclass(frozen=True)
class SafetyCheck:
    found: tuple[ContraindicationResult, ...]
    unchecked: tuple[str, ...]  # ids of absolute contraindications that could not be checked
    unchecked_labels: tuple[LocalText, ...]
    age_years: int | None
    age_problem: str | None  # None, "birth_date" or "completed_on"
    # Every unanswered safety question (absolute first), one per questionnaire field.
    unanswered: tuple[UnansweredItem, ...] = ()


def _with_refs(text: LocalText, citations: Sequence[int]) -> LocalText:
    if not citations:
        return text
    refs = "[" + ", ".join(str(n) for n in citations) + "]"
    return LocalText(f"{text.en} {refs}", f"{text.nb} {refs}")


def _result(rule: Any, text: LocalText) -> ContraindicationResult:
    instead = rule.instead if rule.severity == "absolute" else None
    return ContraindicationResult(
        rule.id,
        rule.severity,
        rule.label,
        text,
        rule.citations,
        _with_refs(instead, rule.instead_citations) if instead is not None else None,
    )


def _age_item(rule: Any, problem: str, kb: KnowledgeBase) -> UnansweredItem:
    clarify = kb.text(f"clarify_age_{problem}")
    return UnansweredItem(rule.id, rule.severity, rule.label, clarify)


def check_contraindications(questionnaire: Questionnaire, kb: KnowledgeBase) -> SafetyCheck:
    """Contraindications found, and every safety question left unanswered (never dropped)."""
    found: list[ContraindicationResult] = []
    unchecked: list[str] = []
    labels: list[LocalText] = []
    unanswered: list[UnansweredItem] = []
    seen_fields: set[str] = set()
    age = questionnaire.age_years()
    age_problem = None
    if age is None:
        age_problem = "birth_date" if questionnaire.birth_date is None else "completed_on"
    for rule in sorted(kb.contraindications, key=lambda r: r.severity != "absolute"):
        if rule.computed == "age_under_18":
            if age is None and age_problem is not None:
                unchecked.append(rule.id)
                labels.append(rule.label)
                unanswered.append(_age_item(rule, age_problem, kb))
            elif age is not None and rule.min_age_years is not None and age < rule.min_age_years:
                found.append(_result(rule, rule.text.format(age=age)))
            continue
        value = questionnaire.get(rule.field or "")
        if value is None:
            if rule.severity == "absolute":
                unchecked.append(rule.id)
                labels.append(rule.label)
            if rule.field not in seen_fields:  # one item per question (e.g. liver function)
                seen_fields.add(rule.field or "")
                clarify = rule.clarify or LocalText("Not answered.", "Ikke besvart.")
                unanswered.append(UnansweredItem(rule.id, rule.severity, rule.label, clarify))
            continue
        if rule.matches(value):
            found.append(_result(rule, rule.text))
    order = {rule.id: index for index, rule in enumerate(kb.contraindications)}
    found.sort(key=lambda item: (item.severity != "absolute", order[item.id]))
    unchecked.sort(key=order.__getitem__)
    labels = [next(r.label for r in kb.contraindications if r.id == i) for i in unchecked]
    return SafetyCheck(
        tuple(found), tuple(unchecked), tuple(labels), age, age_problem, tuple(unanswered)
    )


# --------------------------------------------------------------------------------------
# Overall


def _confidence(unknown: int, kb: KnowledgeBase) -> str:
    bounds = kb.overall["confidence_by_unknown"]
    if unknown <= bounds["high_max"]:
        return "high"
    if unknown <= bounds["moderate_max"]:
        return "moderate"
    return "low"


def _cap(level: str, cap: str) -> str:
    return min(level, cap, key=_CONFIDENCE_ORDER.index)


def _plural(kb: KnowledgeBase, key: str, count: int, **values: object) -> LocalText:
    """``key_one`` for 1, else ``key_many`` (with ``count``)."""
    return kb.text(f"{key}_one" if count == 1 else f"{key}_many", count=count, **values)


def _completeness(
    known: int, total: int, genotype_called: bool, safety: SafetyCheck, kb: KnowledgeBase
) -> LocalText:
    missing = len(safety.unchecked)
    cautions = sum(1 for item in safety.unanswered if item.severity == "relative")
    screen = (
        kb.text("completeness_safety_complete")
        if missing == 0
        else _plural(kb, "completeness_safety_missing", missing)
    )
    if cautions:
        extra = _plural(kb, "completeness_cautions", cautions)
        screen = LocalText(screen.en + extra.en, screen.nb + extra.nb)
    genotype = kb.text(
        "completeness_genotype_called" if genotype_called else "completeness_genotype_not_called"
    )
    return kb.text(
        "completeness",
        known=known,
        total=total,
        genotype=genotype,
        safety=screen,
    )


def _category(
    absolute: Sequence[ContraindicationResult],
    safety: SafetyCheck,
    questionnaire: Questionnaire,
    counts: Mapping[str, int],
    rules: Mapping[str, Any],
) -> str:
    """The category, in the documented order (docs/assessment.md)."""
    dsm5 = questionnaire.get("drinking.dsm5_aud_criteria")
    if absolute:
        return "contraindicated"
    if safety.unchecked:
        return "safety_screen_incomplete"
    if dsm5 is not None and dsm5 < int(rules["min_dsm5_for_indication"]):
        return "indication_not_established"
    if counts["clinical_known"] < int(rules["min_known_clinical_factors"]):
        return "insufficient_information"
    if counts["favourable"] >= int(rules["more_likely_min_favourable"]) and (
        counts["favourable"] > counts["unfavourable"]
    ):
        return "several_favourable_features"
    return "few_favourable_features"


def _benefit_rationale(
    category: str,
    clinical: Sequence[FactorResult],
    unknown_all: Sequence[FactorResult],
    kb: KnowledgeBase,
) -> list[LocalText]:
    """The "why" sentences of a category that describes the predictors."""
    rules = kb.overall
    known = [f for f in clinical if f.finding != UNKNOWN]
    favourable = [f for f in clinical if f.finding == FAVOURABLE]
    unfavourable = [f for f in clinical if f.finding == UNFAVOURABLE]
    total = len(clinical)
    out: list[LocalText] = []
    if category == "insufficient_information":
        needed = int(rules["min_known_clinical_factors"])
        out.append(kb.text("insufficient", known=len(known), total=total, needed=needed))
    elif category == "several_favourable_features":
        items = join_local([f.label for f in favourable], lower=True)
        out.append(kb.text("more_likely", count=len(favourable), total=total, items=items))
    else:
        out.append(kb.text("average", count=len(favourable), total=total))
    if unfavourable:
        items = join_local([f.label for f in unfavourable], lower=True)
        out.append(kb.text("unfavourable", items=items))
    out.append(kb.text("option"))
    if not any(f.id == "oprm1_genotype" for f in unknown_all):  # determined: say it is unused
        out.append(kb.text("genotype"))
    if unknown_all:
        items = join_local([f.label for f in unknown_all], lower=True)
        out.append(kb.text("unknown_factors", items=items))
    return out


def decide_overall(
    factors: Sequence[FactorResult],
    safety: SafetyCheck,
    questionnaire: Questionnaire,
    kb: KnowledgeBase,
    *,
    mismatch: tuple[str, str] | None = None,
) -> Overall:
    rules = kb.overall
    clinical_ids = list(rules["clinical_factors"])
    clinical = [f for f in factors if f.id in clinical_ids]
    unknown_all = [f for f in factors if f.finding == UNKNOWN]
    absolute = [c for c in safety.found if c.severity == "absolute"]
    genotype = next(f for f in factors if f.id == "oprm1_genotype")
    counts = {
        "clinical_total": len(clinical),
        "clinical_known": sum(1 for f in clinical if f.finding != UNKNOWN),
        "favourable": sum(1 for f in clinical if f.finding == FAVOURABLE),
        "unfavourable": sum(1 for f in clinical if f.finding == UNFAVOURABLE),
        "unknown": len(unknown_all),
    }
    category = _category(absolute, safety, questionnaire, counts, rules)
    guidance_applies = category in tuple(rules["guidance_categories"])

    rationale: list[LocalText] = []
    if mismatch is not None:
        rationale.append(
            kb.text("sample_mismatch", questionnaire_sample=mismatch[0], call_sample=mismatch[1])
        )
    if category == "contraindicated":
        items = join_local([c.label for c in absolute])
        rationale.append(_plural(kb, "contraindicated", len(absolute), items=items))
    elif category == "safety_screen_incomplete":
        items = join_local(list(safety.unchecked_labels))
        rationale.append(_plural(kb, "screen_incomplete", len(safety.unchecked), items=items))
    elif category == "indication_not_established":
        dsm5 = questionnaire.get("drinking.dsm5_aud_criteria")
        needed = int(rules["min_dsm5_for_indication"])
        rationale.append(kb.text("indication_not_established", dsm5=dsm5, needed=needed))
    else:
        rationale.extend(_benefit_rationale(category, clinical, unknown_all, kb))
    if questionnaire.get("drinking.treatment_goal") == "reduce" and guidance_applies:
        rationale.append(kb.text("reduce_goal"))

    if category == "contraindicated":
        confidence = "high"
    elif category == "insufficient_information":
        confidence = "low"
    else:
        confidence = _confidence(len(unknown_all), kb)
    if category != "contraindicated" and safety.unchecked:
        confidence = _cap(confidence, str(rules["unchecked_safety_cap"]))
    overrides = rules.get("next_step_overrides") or {}
    hidden = {i for c in absolute for i in overrides.get(c.id, ())}
    next_steps: list[LocalText] = []
    for item in absolute:
        if item.instead is not None and item.id not in hidden and item.instead not in next_steps:
            next_steps.append(item.instead)
    text_citations = rules.get("text_citations") or {}
    return Overall(
        category=category,
        label=kb.category_label(category),
        confidence=confidence,
        rationale=tuple(rationale),
        not_validated_notice=kb.text("not_validated_notice"),
        unchecked_contraindications=safety.unchecked,
        age_checked=safety.age_problem is None,
        counts=counts,
        completeness=(
            None
            if category == "contraindicated"
            else _completeness(
                counts["clinical_known"],
                counts["clinical_total"],
                genotype.finding != UNKNOWN,
                safety,
                kb,
            )
        ),
        unanswered=safety.unanswered,
        guidance_applies=guidance_applies,
        next_steps=tuple(next_steps),
        citations=tuple(text_citations.get("option", ())) if guidance_applies else (),
    )


# --------------------------------------------------------------------------------------
# Dates and provenance


def reported_on(
    questionnaire: Questionnaire, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """(report date, where it came from): ``SOURCE_DATE_EPOCH`` if set, else ``completed_on``."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            seconds = int(epoch)
            day = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()
        except (ValueError, OverflowError, OSError):
            raise UsageError(
                None, f"SOURCE_DATE_EPOCH={epoch!r}: not a whole number of seconds since 1970"
            ) from None
        return day.isoformat(), "SOURCE_DATE_EPOCH"
    completed = questionnaire.get("completed_on")
    if completed is not None:
        return str(completed), "completed_on"
    return None, None


def default_inputs(
    call: Mapping[str, Any],
    questionnaire: Questionnaire,
    *,
    call_path: str | None = None,
    call_sha256: str | None = None,
) -> tuple[InputRecord, ...]:
    """Provenance inputs: the genotype input named in the call, the call file, the questionnaire."""
    records: list[InputRecord] = []
    source = (call.get("provenance") or {}).get("input") or {}
    if source.get("path") and source.get("sha256"):
        records.append(
            InputRecord(
                "genotype_input", str(source["path"]), str(source["sha256"]), source.get("format")
            )
        )
    if call_path and call_sha256:
        records.append(InputRecord("call", call_path, call_sha256))
    if questionnaire.sha256:
        records.append(
            InputRecord(
                "questionnaire", questionnaire.source, questionnaire.sha256, questionnaire.format
            )
        )
    return tuple(records)


def _instead_of(rule: Any, found: Sequence[ContraindicationResult]) -> list[LocalText]:
    return [c.instead for c in found if c.id == rule.id and c.instead is not None]


def _cited(
    factors: Sequence[FactorResult],
    contraindications: Sequence[ContraindicationResult],
    overall: Overall,
    kb: KnowledgeBase,
) -> tuple[dict[str, Any], ...]:
    numbers: set[int] = set()
    for factor in factors:
        numbers.update(factor.citations)
    for item in contraindications:
        numbers.update(item.citations)
    for guidance in kb.guidance.values():
        numbers.update(guidance.citations)
    for limitation in kb.limitations:
        numbers.update(limitation.citations)
    numbers.update(overall.citations)
    for rule in kb.contraindications:
        if any(step in overall.next_steps for step in _instead_of(rule, contraindications)):
            numbers.update(rule.instead_citations)
    return tuple(kb.reference(n).to_dict() for n in sorted(numbers))


# --------------------------------------------------------------------------------------
# Entry point


def assess(
    call: Any,
    questionnaire: Questionnaire,
    kb: KnowledgeBase,
    *,
    inputs: Sequence[InputRecord] | None = None,
    allow_sample_mismatch: bool = False,
    language: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Assessment:
    """Combine a genotype call and a questionnaire into an :class:`Assessment`.

    ``call`` is a ``pgx_report.genotype.vcf.rules.Call`` or the call JSON as a mapping.
    ``inputs`` default to :func:`default_inputs`. The report date is taken from
    ``SOURCE_DATE_EPOCH`` in ``environ`` (default ``os.environ``), else ``completed_on``.
    Raises :class:`SampleMismatchError` when the questionnaire's ``sample_id`` differs
    from the call's sample, unless ``allow_sample_mismatch``.
    """
    call_data = _call_dict(call)
    call_sample = str(call_data.get("sample"))
    mismatch = None
    if questionnaire.sample_id != call_sample:
        if not allow_sample_mismatch:
            raise SampleMismatchError(
                questionnaire.source,
                f"$.sample_id: {questionnaire.sample_id!r} does not match the genotype call's "
                f"sample {call_sample!r} (a sample swap?); correct the file, or pass "
                "--allow-sample-mismatch if you have confirmed they belong together",
            )
        mismatch = (questionnaire.sample_id, call_sample)
        log.warning(
            "sample mismatch allowed: questionnaire %s, call %s",
            questionnaire.sample_id,
            call_sample,
        )

    factors = evaluate_factors(call_data, questionnaire, kb)
    safety = check_contraindications(questionnaire, kb)
    overall = decide_overall(factors, safety, questionnaire, kb, mismatch=mismatch)
    report_date, date_source = reported_on(questionnaire, environ)
    patient = questionnaire.data["patient"]
    clinician = questionnaire.get("clinician")
    variant = call_data.get("variant") or {}
    call_provenance = call_data.get("provenance") or {}
    records = tuple(inputs) if inputs is not None else default_inputs(call_data, questionnaire)
    provenance = {
        "tool": "pgx-report",
        "tool_version": __version__,
        "knowledge_base_version": kb.version,
        "build": variant.get("build") or (call_provenance.get("build") or {}).get("name"),
        "inputs": [record.to_dict() for record in records],
        "thresholds": dict(call_provenance.get("thresholds") or {}),
        # True only when a mismatch was actually accepted; the option itself is recorded
        # separately, so a report never claims a mismatch that did not happen.
        "allow_sample_mismatch": mismatch is not None,
        "allow_sample_mismatch_option": bool(allow_sample_mismatch),
        "sample_mismatch": (
            {"questionnaire_sample": mismatch[0], "call_sample": mismatch[1]} if mismatch else None
        ),
        "questionnaire_format": questionnaire.format,
        "reported_on_source": date_source,
    }
    return Assessment(
        language=language or questionnaire.language or DEFAULT_LANGUAGE,
        call=call_data,
        patient={
            "id": patient["id"],
            "name": patient["name"],
            "birth_date": patient.get("birth_date"),
            "sex": patient.get("sex"),
            "age_years": safety.age_years,
        },
        sample_id=questionnaire.sample_id,
        clinician=(
            {"name": clinician.get("name"), "organisation": clinician.get("organisation")}
            if clinician
            else None
        ),
        dates={"completed_on": questionnaire.get("completed_on"), "reported_on": report_date},
        questionnaire=questionnaire.to_dict(),
        factors=factors,
        contraindications=safety.found,
        overall=overall,
        genotype_summary=_genotype_summary(call_data, kb),
        guidance={key: item.text for key, item in kb.guidance.items()},
        limitations=tuple(item.text for item in kb.limitations),
        references=_cited(factors, safety.found, overall, kb),
        provenance=provenance,
    )


# --------------------------------------------------------------------------------------
# Reading an assessment back


@cache
def assessment_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = assessment_schema()
    questionnaire = questionnaire_schema()
    resource = referencing.Resource.from_contents(questionnaire)
    registry: referencing.Registry[Any] = (
        referencing.Registry()
        .with_resource("questionnaire.schema.json", resource)
        .with_resource(questionnaire["$id"], resource)
    )
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(
        schema, registry=registry, format_checker=cls.FORMAT_CHECKER
    )
    return validator


def validate_assessment_dict(data: Any, source: str | Path | None) -> None:
    """Raise :class:`InputError` listing every schema problem of an assessment object."""
    if not isinstance(data, Mapping):
        raise InputError(source, "$: not an assessment (expected a JSON object)")
    problems = sorted(
        {f"{json_path(err.absolute_path)}: {err.message}" for err in _validator().iter_errors(data)}
    )
    if problems:
        head = "" if len(problems) == 1 else f"{len(problems)} problems: "
        raise InputError(source, head + "; ".join(problems))


def _local(raw: Mapping[str, Any]) -> LocalText:
    return LocalText(str(raw["en"]), str(raw["nb"]))


def _local_list(
    raw: Mapping[str, Any] | None, source: str | Path | None, where: str
) -> tuple[LocalText, ...]:
    if not raw:
        return ()
    if len(raw["en"]) != len(raw["nb"]):
        raise InputError(source, f"{where}: 'en' and 'nb' need the same number of sentences")
    return tuple(LocalText(en, nb) for en, nb in zip(raw["en"], raw["nb"], strict=True))


def assessment_from_dict(data: Mapping[str, Any], source: str | Path | None = None) -> Assessment:
    """Rebuild an :class:`Assessment` from its JSON form (validated first)."""
    validate_assessment_dict(data, source)
    raw_overall = data["overall"]
    rationale_en, rationale_nb = raw_overall["rationale"]["en"], raw_overall["rationale"]["nb"]
    if len(rationale_en) != len(rationale_nb):
        raise InputError(
            source, "$.overall.rationale: 'en' and 'nb' need the same number of sentences"
        )
    overall = Overall(
        category=raw_overall["category"],
        label=_local(raw_overall["label"]),
        confidence=raw_overall["confidence"],
        rationale=tuple(
            LocalText(en, nb) for en, nb in zip(rationale_en, rationale_nb, strict=True)
        ),
        not_validated_notice=_local(raw_overall["not_validated_notice"]),
        unchecked_contraindications=tuple(raw_overall.get("unchecked_contraindications", ())),
        age_checked=bool(raw_overall.get("age_checked", True)),
        counts=dict(raw_overall.get("counts", {})),
        completeness=(
            _local(raw_overall["completeness"]) if raw_overall.get("completeness") else None
        ),
        unanswered=tuple(
            UnansweredItem(
                item["id"], item["severity"], _local(item["label"]), _local(item["clarify"])
            )
            for item in raw_overall.get("unanswered", ())
        ),
        guidance_applies=bool(raw_overall.get("guidance_applies", True)),
        next_steps=_local_list(raw_overall.get("next_steps"), source, "$.overall.next_steps"),
        citations=tuple(raw_overall.get("citations", ())),
    )
    factors = tuple(
        FactorResult(
            id=item["id"],
            label=_local(item["label"]),
            value=dict(item["value"]),
            value_text=_local(item["value_text"]),
            finding=item["finding"],
            evidence_level=item["evidence_level"],
            citations=tuple(item["citations"]),
            explanation=_local(item["explanation"]),
            direction=_local(item["direction"]),
            evidence_summary=_local(item["evidence_summary"]),
        )
        for item in data["factors"]
    )
    contraindications = tuple(
        ContraindicationResult(
            id=item["id"],
            severity=item["severity"],
            label=_local(item["label"]),
            text=_local(item["text"]),
            citations=tuple(item["citations"]),
            instead=_local(item["instead"]) if item.get("instead") else None,
        )
        for item in data["contraindications"]
    )
    return Assessment(
        language=data["language"],
        call=dict(data["call"]),
        patient=dict(data["patient"]),
        sample_id=data["sample_id"],
        clinician=dict(data["clinician"]) if data.get("clinician") else None,
        dates=dict(data["dates"]),
        questionnaire=dict(data["questionnaire"]),
        factors=factors,
        contraindications=contraindications,
        overall=overall,
        genotype_summary=_local(data["genotype_summary"]),
        guidance={key: _local(value) for key, value in data["guidance"].items()},
        limitations=tuple(_local(item) for item in data["limitations"]),
        references=tuple(dict(item) for item in data["references"]),
        provenance=dict(data["provenance"]),
        _source=copy.deepcopy(dict(data)),
    )


def load_assessment(path: str | Path) -> Assessment:
    """Read ``assessment.json``; a missing, malformed or invalid file is an InputError."""
    data, _ = read_json_file(path, InputError)
    if isinstance(data, Mapping) and data.get("schema") != SCHEMA_NAME:
        raise InputError(path, f"$.schema: {data.get('schema')!r} is not {SCHEMA_NAME!r}")
    return assessment_from_dict(data, path)
