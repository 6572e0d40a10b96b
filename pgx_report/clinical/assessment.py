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

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pgx_report import __version__
from pgx_report.clinical.knowledge import FactorDefinition, KnowledgeBase
from pgx_report.clinical.questionnaire import Questionnaire
from pgx_report.contracts.assessment import (
    Assessment,
    ContraindicationResult,
    FactorResult,
    InputRecord,
    Overall,
    UnansweredItem,
)
from pgx_report.contracts.call import Call
from pgx_report.contracts.languages import DEFAULT_LANGUAGE, LocalText
from pgx_report.errors import SampleMismatchError, UsageError

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
FAVOURABLE = "favourable"
NEUTRAL = "neutral"
UNFAVOURABLE = "unfavourable"
_CONFIDENCE_ORDER = ("low", "moderate", "high")


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


def _as_call(call: Call | Mapping[str, Any]) -> Call:
    """The call itself, or a call.json mapping taken as it is (:meth:`Call.from_embedded`):
    tests and hand-edited calls that the call schema would refuse still get an assessment."""
    return call if isinstance(call, Call) else Call.from_embedded(call, None, "$")


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


def _genotype(call: Call, kb: KnowledgeBase, spec: FactorDefinition) -> _Finding:
    status = call.status.value
    genotype = call.genotype
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


def _genotype_summary(call: Call, kb: KnowledgeBase) -> LocalText:
    status = call.status.value
    genotype = call.genotype
    texts = kb.genotype_status
    if status == "called" and isinstance(genotype, str):
        key = "carrier" if call.carrier else "non_carrier"
        raw = texts["called"][key]
        return LocalText(raw["en"], raw["nb"]).format(genotype=genotype)
    label = _status_text(kb, status)
    raw = texts["not_determined"]
    codes = list(call.reason_codes)
    if codes:  # the codes go right after the status, before the advice
        label = LocalText(f"{label.en} ({', '.join(codes)})", f"{label.nb} ({', '.join(codes)})")
    return LocalText(raw["en"].format(status=label.en), raw["nb"].format(status=label.nb))


def evaluate_factors(
    call: Call, questionnaire: Questionnaire, kb: KnowledgeBase
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
    call: Call,
    questionnaire: Questionnaire,
    *,
    call_path: str | None = None,
    call_sha256: str | None = None,
) -> tuple[InputRecord, ...]:
    """Provenance inputs: the genotype input named in the call, the call file, the questionnaire."""
    records: list[InputRecord] = []
    source = call.provenance.get("input") or {}
    region = source.get("region_digest") or {}
    if source.get("path") and source.get("sha256"):
        records.append(
            InputRecord(
                "genotype_input", str(source["path"]), str(source["sha256"]), source.get("format")
            )
        )
    elif source.get("path") and region.get("sha256"):
        records.append(
            InputRecord(
                "genotype_input",
                str(source["path"]),
                str(region["sha256"]),
                source.get("format"),
                scheme=str(region["scheme"]),
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
    call: Call | Mapping[str, Any],
    questionnaire: Questionnaire,
    kb: KnowledgeBase,
    *,
    inputs: Sequence[InputRecord] | None = None,
    allow_sample_mismatch: bool = False,
    language: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Assessment:
    """Combine a genotype call and a questionnaire into an :class:`Assessment`.

    ``call`` is the genotype :class:`~pgx_report.contracts.call.Call`.
    ``inputs`` default to :func:`default_inputs`. The report date is taken from
    ``SOURCE_DATE_EPOCH`` in ``environ`` (default ``os.environ``), else ``completed_on``.
    Raises :class:`SampleMismatchError` when the questionnaire's ``sample_id`` differs
    from the call's sample, unless ``allow_sample_mismatch``.
    """
    call = _as_call(call)
    call_sample = call.sample
    mismatch = None
    if questionnaire.sample_id != call_sample:
        if not allow_sample_mismatch:
            raise SampleMismatchError(
                questionnaire.source,
                f"{questionnaire.field_name('sample_id')}: {questionnaire.sample_id!r} does not "
                "match the genotype call's "
                f"sample {call_sample!r} (a sample swap?); correct the file, or pass "
                "--allow-sample-mismatch if you have confirmed they belong together",
            )
        mismatch = (questionnaire.sample_id, call_sample)
        log.warning(
            "sample mismatch allowed: questionnaire %s, call %s",
            questionnaire.sample_id,
            call_sample,
        )

    factors = evaluate_factors(call, questionnaire, kb)
    safety = check_contraindications(questionnaire, kb)
    overall = decide_overall(factors, safety, questionnaire, kb, mismatch=mismatch)
    report_date, date_source = reported_on(questionnaire, environ)
    patient = questionnaire.data["patient"]
    clinician = questionnaire.get("clinician")
    call_provenance = call.provenance
    records = tuple(inputs) if inputs is not None else default_inputs(call, questionnaire)
    provenance = {
        "tool": "pgx-report",
        "tool_version": __version__,
        "knowledge_base_version": kb.version,
        "build": call.variant.get("build") or (call_provenance.get("build") or {}).get("name"),
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
        call=call,
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
        genotype_summary=_genotype_summary(call, kb),
        guidance={key: item.text for key, item in kb.guidance.items()},
        limitations=tuple(item.text for item in kb.limitations),
        references=_cited(factors, safety.found, overall, kb),
        provenance=provenance,
    )
