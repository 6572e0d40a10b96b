"""The assessment contract (``assessment.json``): the Assessment dataclasses.

``to_dict``/``assessment_from_dict`` are the only places an assessment becomes or stops
being a dict; :func:`load_assessment` reads one back (strict JSON, the one version rule of
:mod:`pgx_report.contracts.schema`, then the published schema). The rules that make an
assessment live in :mod:`pgx_report.clinical.assessment`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgx_report.contracts.call import Call
from pgx_report.contracts.languages import LocalText
from pgx_report.contracts.schema import (
    ASSESSMENT,
    check_version,
    error_message,
    json_path,
    load_schema,
    schema_errors,
)
from pgx_report.errors import InputError
from pgx_report.files.jsonio import read_json

SCHEMA_NAME = ASSESSMENT.name
SCHEMA_VERSION = ASSESSMENT.version
SCHEMA_FILE = "assessment.schema.json"


@dataclass(frozen=True)
class InputRecord:
    """One input file in the provenance: its role, path as given, and digest.

    ``scheme`` "sha256": ``digest`` is the SHA-256 of the whole file (key ``sha256``);
    otherwise a region digest of what the call read (key ``region_sha256``, with
    ``digest_scheme``; docs/calling.md "Input digest")."""

    role: str
    path: str
    digest: str
    format: str | None = None
    scheme: str = "sha256"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "path": self.path}
        if self.scheme == "sha256":
            out["sha256"] = self.digest
        else:
            out["region_sha256"] = self.digest
            out["digest_scheme"] = self.scheme
        if self.format is not None:
            out["format"] = self.format
        return out


def input_digest(item: Mapping[str, Any]) -> tuple[str, str]:
    """(scheme, hex value) of one ``provenance.inputs`` entry of an assessment file."""
    if isinstance(item.get("sha256"), str):
        return "sha256", str(item["sha256"])
    return str(item.get("digest_scheme", "")), str(item.get("region_sha256", ""))


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
    call: Call
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
            "call": copy.deepcopy(self.call.to_dict()),
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
# Reading an assessment back


def assessment_schema() -> dict[str, Any]:
    return load_schema(SCHEMA_FILE)


def validate_assessment_dict(data: Any, source: str | Path | None) -> None:
    """Raise :class:`InputError` listing every schema problem of an assessment object."""
    if not isinstance(data, Mapping):
        raise InputError(source, "$: not an assessment (expected a JSON object)")
    problems = sorted(
        {
            f"{json_path(err.absolute_path)}: {error_message(err)}"
            for err in schema_errors(data, SCHEMA_FILE)
        }
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
        call=Call.from_embedded(data["call"], source),
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
    data, _ = read_json(path)
    return assessment_from_json(data, path)


def assessment_from_json(data: Any, source: str | Path | None) -> Assessment:
    """The Assessment of parsed ``assessment.json`` content: version rule, then schema."""
    if isinstance(data, Mapping):
        check_version(data, ASSESSMENT, source)
    return assessment_from_dict(data, source)


def as_assessment(
    assessment: Assessment | Mapping[str, Any], source: str | Path | None
) -> Assessment:
    """``assessment`` itself, or its JSON form read by :func:`assessment_from_json`."""
    if isinstance(assessment, Assessment):
        return assessment
    return assessment_from_json(assessment, source)
