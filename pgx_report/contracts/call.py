"""The call contract: one sample's genotype call at rs1799971 (``call.json``).

``Call`` is what every genotype source (VCF rules, BAM/CRAM pileup) produces and what the
assessment consumes; ``Status`` and ``Reason`` are its vocabulary (docs/calling.md), and
``STATUS_OF`` the rule that turns reason codes into a status. ``to_dict``/``from_dict`` (and
``from_embedded``, for the call inside an assessment) are the only places a call becomes or
stops being a dict.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pgx_report.contracts.schema import CALL, error_message, load_schema, schema_errors
from pgx_report.errors import InputError
from pgx_report.files.jsonio import read_json

SCHEMA = CALL.name
SCHEMA_VERSION = CALL.version
SCHEMA_FILE = "call.schema.json"


class Status(enum.StrEnum):
    CALLED = "called"
    NO_CALL = "no_call"
    NOT_COVERED = "not_covered"
    FAILED_QC = "failed_qc"
    REF_MISMATCH = "ref_mismatch"


class Reason(enum.StrEnum):
    """Machine-readable reason codes, in the order they are listed in a call."""

    REF_MISMATCH = "REF_MISMATCH"
    ABSENT = "ABSENT"
    NOCALL_GT = "NOCALL_GT"
    PARTIAL_GT = "PARTIAL_GT"
    UNEXPECTED_PLOIDY = "UNEXPECTED_PLOIDY"
    SPANNING_DELETION = "SPANNING_DELETION"
    UNEXPECTED_ALT = "UNEXPECTED_ALT"
    UNDEFINED_ALLELE = "UNDEFINED_ALLELE"
    MULTIPLE_RECORDS = "MULTIPLE_RECORDS"
    FILTERED = "FILTERED"
    LOW_DEPTH = "LOW_DEPTH"
    LOW_GQ = "LOW_GQ"
    LOW_GP = "LOW_GP"
    GVCF_BLOCK_LOW_QUALITY = "GVCF_BLOCK_LOW_QUALITY"
    AD_CONFLICT = "AD_CONFLICT"
    ALLELE_BALANCE_SKEW = "ALLELE_BALANCE_SKEW"
    IMPUTED = "IMPUTED"
    # targeted genotyping assay plates (docs/targeted.md)
    NTC_AMPLIFIED = "NTC_AMPLIFIED"
    POSITIVE_CONTROL_FAILED = "POSITIVE_CONTROL_FAILED"
    REPLICATE_DISCORDANT = "REPLICATE_DISCORDANT"
    ASSAY_UNDETERMINED = "ASSAY_UNDETERMINED"
    WELLS_OMITTED = "WELLS_OMITTED"
    LOW_ASSAY_QUALITY = "LOW_ASSAY_QUALITY"


# The status each code forces (None: a warning, the call stands). The first status in
# this order wins: ref_mismatch > not_covered > no_call > failed_qc > called.
STATUS_OF: dict[Reason, Status | None] = {
    Reason.REF_MISMATCH: Status.REF_MISMATCH,
    Reason.ABSENT: Status.NOT_COVERED,
    Reason.NOCALL_GT: Status.NO_CALL,
    Reason.PARTIAL_GT: Status.NO_CALL,
    Reason.UNEXPECTED_PLOIDY: Status.NO_CALL,
    Reason.SPANNING_DELETION: Status.NO_CALL,
    Reason.UNEXPECTED_ALT: Status.NO_CALL,
    Reason.UNDEFINED_ALLELE: Status.NO_CALL,
    Reason.MULTIPLE_RECORDS: Status.NO_CALL,
    Reason.FILTERED: Status.FAILED_QC,
    Reason.LOW_DEPTH: Status.FAILED_QC,
    Reason.LOW_GQ: Status.FAILED_QC,
    Reason.LOW_GP: Status.FAILED_QC,
    Reason.GVCF_BLOCK_LOW_QUALITY: Status.FAILED_QC,
    Reason.AD_CONFLICT: Status.FAILED_QC,
    Reason.ALLELE_BALANCE_SKEW: None,
    Reason.IMPUTED: None,
    Reason.NTC_AMPLIFIED: Status.FAILED_QC,
    Reason.POSITIVE_CONTROL_FAILED: Status.FAILED_QC,
    Reason.REPLICATE_DISCORDANT: Status.NO_CALL,
    Reason.ASSAY_UNDETERMINED: Status.NO_CALL,
    Reason.WELLS_OMITTED: Status.NOT_COVERED,
    Reason.LOW_ASSAY_QUALITY: Status.FAILED_QC,
}
_STATUS_ORDER = (Status.REF_MISMATCH, Status.NOT_COVERED, Status.NO_CALL, Status.FAILED_QC)


@dataclass(frozen=True)
class Thresholds:
    """Quality gates. Defaults are documented in docs/calling.md."""

    min_depth: int = 10
    min_gq: int = 20
    min_gp: float = 0.9  # imputed genotypes without DP/GQ: highest genotype probability
    het_min_balance: float = 0.2  # A/G with G fraction outside [0.2, 0.8]: warning
    hom_max_other: float = 0.2  # A/A or G/G with more than 20 % other-allele reads: conflict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- the Call


@dataclass(frozen=True)
class Call:
    """One sample's call at rs1799971 (the call.json contract, docs/contracts.md)."""

    sample: str
    variant: Mapping[str, Any]
    status: Status
    genotype: str | None
    carrier: bool | None
    gt: str | None
    reason_codes: tuple[str, ...]
    reasons: tuple[str, ...]
    qc: Mapping[str, Any]
    provenance: Mapping[str, Any]
    # the contract version of the file it was read from (a call made here: the newest)
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": self.schema_version,
            "sample": self.sample,
            "variant": dict(self.variant),
            "status": self.status.value,
            "genotype": self.genotype,
            "carrier": self.carrier,
            "gt": self.gt,
            "reason_codes": list(self.reason_codes),
            "reasons": list(self.reasons),
            "qc": dict(self.qc),
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, data: Any, source: str | Path | None = None) -> Call:
        """Validate ``data`` against the call schema and build a Call (InputError if bad)."""
        validate_call_dict(data, source)
        return cls(
            sample=data["sample"],
            variant=data["variant"],
            status=Status(data["status"]),
            genotype=data["genotype"],
            carrier=data["carrier"],
            gt=data["gt"],
            reason_codes=tuple(data["reason_codes"]),
            reasons=tuple(data["reasons"]),
            qc=data["qc"],
            provenance=data["provenance"],
            schema_version=str(data["schema_version"]),
        )

    @classmethod
    def from_embedded(
        cls, data: Mapping[str, Any], source: str | Path | None = None, at: str = "$.call"
    ) -> Call:
        """A Call from the call an assessment embeds (at ``at``), without the call schema.

        The assessment contract checks only the embedded call's ``sample``, ``status`` and
        ``genotype``: this takes the rest as it is (an absent ``reasons``, ``gt``,
        ``carrier``, ``qc`` or ``provenance`` reads as empty), but the report and the FHIR
        export need a ``variant`` object and a ``reason_codes`` list (InputError if not).
        """
        variant, codes = data.get("variant"), data.get("reason_codes")
        if not isinstance(variant, Mapping):
            raise InputError(source, f"{at}.variant: missing or not an object")
        if not isinstance(codes, list | tuple):
            raise InputError(source, f"{at}.reason_codes: missing or not a list")
        status = data.get("status")
        if status not in {item.value for item in Status}:
            listed = ", ".join(item.value for item in Status)
            raise InputError(source, f"{at}.status: {status!r} is not one of {listed}")
        reasons, qc, provenance = data.get("reasons"), data.get("qc"), data.get("provenance")
        return cls(
            sample=str(data.get("sample")),
            variant=copy.deepcopy(dict(variant)),
            status=Status(status),
            genotype=data.get("genotype"),
            carrier=data.get("carrier"),
            gt=data.get("gt"),
            reason_codes=tuple(str(code) for code in codes),
            reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list | tuple) else (),
            qc=copy.deepcopy(dict(qc)) if isinstance(qc, Mapping) else {},
            provenance=copy.deepcopy(dict(provenance)) if isinstance(provenance, Mapping) else {},
            schema_version=str(data.get("schema_version", SCHEMA_VERSION)),
        )


def call_schema() -> dict[str, Any]:
    return load_schema(SCHEMA_FILE)


def validate_call_dict(data: Any, source: str | Path | None = None) -> None:
    """Raise InputError naming ``source`` and the first offending field."""
    if not isinstance(data, Mapping):
        raise InputError(source, "(top level): not a pgx-report call (expected a JSON object)")
    errors = schema_errors(data, SCHEMA_FILE)
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise InputError(source, f"{where}: {error_message(err)} (not a valid pgx-report call)")
    if (data["status"] == Status.CALLED.value) != (data["genotype"] is not None):
        raise InputError(source, "genotype: must be set exactly when status is 'called'")


def load_call(path: str | Path) -> Call:
    """Read and validate a call.json written by ``pgx-report call``."""
    data, _ = read_json(path)
    return Call.from_dict(data, path)


def status_for(codes: Sequence[Reason]) -> Status:
    """The status the reason codes force (the first in ``_STATUS_ORDER``), else called."""
    forced = {STATUS_OF[c] for c in codes} - {None}
    return next((s for s in _STATUS_ORDER if s in forced), Status.CALLED)
