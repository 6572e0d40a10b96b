"""The report's identity and status (``report.json``, embedded beside ``assessment.json``).

Every report PDF carries one :class:`ReportInfo`: a stable report id, a version, a
status (preliminary, final, amended or corrected), and for a released report who
released it and when, and what it replaces (version, status, date and SHA-256 of the
previous PDF). The schema is ``contracts/schemas/report.schema.json``.

The report id is ``PGX-`` and the first 16 hex digits (upper case) of
``SHA-256(patient id NUL sample id NUL SHA-256 of the genotype input)``
(:func:`report_id_for`): the same inputs give the same id, another patient, sample or
genotype file another one. It is computed for the preliminary report; a release and
every amendment keep the id of the report they replace (an amendment may come from a
re-genotyped file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgx_report.contracts.assessment import Assessment, input_digest
from pgx_report.contracts.schema import (
    Contract,
    check_version,
    error_message,
    json_path,
    schema_errors,
)
from pgx_report.errors import InputError

REPORT = Contract("pgx-report.report", ("1.0",))
SCHEMA_FILE = "report.schema.json"
ATTACHMENT_NAME = "report.json"
STATUSES: tuple[str, ...] = ("preliminary", "final", "amended", "corrected")
RELEASED: tuple[str, ...] = ("final", "amended", "corrected")
ID_DIGITS = 16


@dataclass(frozen=True)
class Replaces:
    """The report a released version replaces."""

    version: int
    status: str
    date: str | None  # when it was released (None: a preliminary report)
    sha256: str  # of its PDF


@dataclass(frozen=True)
class LabRecord:
    """The laboratory a report names (from its profile, :mod:`contracts.lab`): what
    ``report.json`` records of it, the profile file's SHA-256 included."""

    name: str
    sha256: str  # of the profile's YAML bytes
    address: tuple[str, ...] = ()
    phone: str | None = None
    email: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "address": list(self.address),
            "phone": self.phone,
            "email": self.email,
        }


REQUEST_FIELDS: tuple[str, ...] = (
    "specimen_type",
    "specimen_id",
    "collected",
    "received",
    "requested_by",
    "indication",
)


# The longest text of each request field (as report.schema.json and samples.schema.yaml).
REQUEST_MAX_LENGTH: dict[str, int] = {
    "specimen_type": 100,
    "specimen_id": 100,
    "requested_by": 200,
    "indication": 500,
}
REQUEST_DATES: tuple[str, ...] = ("collected", "received")


@dataclass(frozen=True)
class Request:
    """The request and specimen a report is about (all optional): specimen type,
    specimen / accession id, collection and receipt dates (ISO ``YYYY-MM-DD``), the
    requesting clinician and the indication. Checked by :func:`request_problem`."""

    specimen_type: str | None = None
    specimen_id: str | None = None
    collected: str | None = None
    received: str | None = None
    requested_by: str | None = None
    indication: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in REQUEST_FIELDS}

    def __bool__(self) -> bool:
        return any(getattr(self, name) is not None for name in REQUEST_FIELDS)


@dataclass(frozen=True)
class ReportInfo:
    """One report version's identity and status (see the module)."""

    report_id: str
    version: int
    status: str
    language: str
    assessment_sha256: str
    reviewer: str | None = None
    released_at: str | None = None
    replaces: Replaces | None = None
    reason: str | None = None
    changes: tuple[str, ...] = field(default_factory=tuple)
    override: str | None = None
    lab: LabRecord | None = None
    request: Request | None = None

    def __post_init__(self) -> None:
        problems = report_problems(self.to_dict())
        if problems:
            raise InputError(None, "report.json: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        replaces = self.replaces
        return {
            "schema": REPORT.name,
            "schema_version": REPORT.version,
            "report_id": self.report_id,
            "version": self.version,
            "status": self.status,
            "language": self.language,
            "assessment_sha256": self.assessment_sha256,
            "reviewer": self.reviewer,
            "released_at": self.released_at,
            "replaces": None
            if replaces is None
            else {
                "version": replaces.version,
                "status": replaces.status,
                "date": replaces.date,
                "sha256": replaces.sha256,
            },
            "reason": self.reason,
            "changes": list(self.changes),
            "override": self.override,
            "lab": None if self.lab is None else self.lab.to_dict(),
            "request": self.request.to_dict() if self.request else None,
        }

    def to_bytes(self) -> bytes:
        """The embedded ``report.json``: canonical JSON (sorted keys, UTF-8, newline)."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, indent=2)
        return (text + "\n").encode("utf-8")

    @property
    def released(self) -> bool:
        return self.status in RELEASED


def request_problem(request: Request) -> tuple[str, str] | None:
    """The first problem of a request, as (field, what), or None: every text printable
    (:mod:`contracts.text`), one line, not too long; dates ISO ``YYYY-MM-DD``; the
    specimen not received before it was collected."""
    import datetime as dt

    from pgx_report.contracts.text import text_problem

    for name in REQUEST_FIELDS:
        value = getattr(request, name)
        if value is None:
            continue
        problem = text_problem(value)
        if problem:
            return name, problem
        if not value.strip() or value != value.strip():
            return name, "empty, or space at either end"
        if name in REQUEST_DATES:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                problem = "not a date"
            if problem or len(value) != len("YYYY-MM-DD"):
                return name, f"{value[:40]!r} is not a date (YYYY-MM-DD, e.g. 2025-11-20)"
        elif len(value) > REQUEST_MAX_LENGTH[name]:
            return (
                name,
                f"{len(value)} characters, more than the {REQUEST_MAX_LENGTH[name]} allowed",
            )
    if request.collected and request.received and request.received < request.collected:
        return "received", (
            f"received {request.received} is before collected {request.collected}: "
            "a specimen is received after it is collected"
        )
    return None


def report_problems(data: Any) -> list[str]:
    """Schema errors of a report.json object, each ``$.path: what``."""
    return [
        f"{json_path(err.absolute_path)}: {error_message(err)}"
        for err in schema_errors(data, SCHEMA_FILE)
    ]


def report_from_dict(data: Any, source: str | Path | None) -> ReportInfo:
    """The ReportInfo of a parsed report.json (the one version rule, then the schema)."""
    if not isinstance(data, Mapping):
        raise InputError(source, "report.json: expected a JSON object")
    check_version(data, REPORT, source)
    problems = report_problems(data)
    if problems:
        raise InputError(source, "report.json " + problems[0])
    replaces = data["replaces"]
    lab = data.get("lab")
    request = data.get("request")
    return ReportInfo(
        report_id=data["report_id"],
        version=data["version"],
        status=data["status"],
        language=data["language"],
        assessment_sha256=data["assessment_sha256"],
        reviewer=data["reviewer"],
        released_at=data["released_at"],
        replaces=None if replaces is None else Replaces(**replaces),
        reason=data["reason"],
        changes=tuple(data["changes"]),
        override=data["override"],
        lab=None
        if lab is None
        else LabRecord(
            lab["name"], lab["sha256"], tuple(lab["address"]), lab["phone"], lab["email"]
        ),
        request=None if request is None else Request(**request),
    )


def genotype_input_sha256(assessment: Assessment) -> str:
    """The SHA-256 of the genotype input named in the assessment's provenance (the
    call's when no genotype input is listed; empty when neither is)."""
    inputs = [
        item for item in assessment.provenance.get("inputs") or () if isinstance(item, Mapping)
    ]
    for role in ("genotype_input", "call"):
        for item in inputs:
            value = input_digest(item)[1] if item.get("role") == role else ""
            if value:
                return value
    return ""


def report_id_for(assessment: Assessment) -> str:
    """The stable report id of an assessment (see the module)."""
    parts: Sequence[str] = (
        str(assessment.patient["id"]),
        assessment.sample_id,
        genotype_input_sha256(assessment),
    )
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
    return "PGX-" + digest[:ID_DIGITS].upper()


def preliminary(
    assessment: Assessment,
    assessment_bytes: bytes,
    lang: str,
    lab: LabRecord | None = None,
    request: Request | None = None,
) -> ReportInfo:
    """The identity of a newly rendered report in ``lang``: version 1, preliminary."""
    return ReportInfo(
        report_id=report_id_for(assessment),
        version=1,
        status="preliminary",
        language=lang,
        assessment_sha256=hashlib.sha256(assessment_bytes).hexdigest(),
        lab=lab,
        request=request or None,
    )
