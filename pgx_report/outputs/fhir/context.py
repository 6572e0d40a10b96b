"""What every FHIR resource of one bundle shares: the assessment, the ids, the site, the call.

:func:`bundle_context` reads it once from the typed Assessment. The schema has already
checked the assessment; the checks here are the export's own (the site must be the one
this export describes, a called genotype must be given, the report must have a date), plus
the fields of the embedded call, which the assessment contract leaves open. Each failure is
an :class:`InputError` naming the JSON path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgx_report.contracts.assessment import Assessment, input_digest
from pgx_report.contracts.call import Call
from pgx_report.contracts.languages import LocalText
from pgx_report.contracts.report import ReportInfo, report_id_for
from pgx_report.errors import InputError
from pgx_report.outputs.fhir.codes import FhirCodes, Json


class Ids:
    """Resource ids: UUIDv5 values under the bundle's seed."""

    def __init__(self, seed: uuid.UUID) -> None:
        self.seed = seed

    def id(self, key: str) -> str:
        return str(uuid.uuid5(self.seed, key))

    def url(self, key: str) -> str:
        return f"urn:uuid:{self.id(key)}"

    def ref(self, key: str, display: str | None = None) -> Json:
        out: Json = {"reference": self.url(key)}
        if display:
            out["display"] = display
        return out


@dataclass(frozen=True)
class Site:
    gene: str
    rsid: str
    hgvs_c: str
    hgvs_p: str
    build: str | None
    pos: int | None
    ref: str
    alt: str
    refseq_chr: str | None
    assembly_key: str | None

    def ghgvs(self) -> str | None:
        if self.refseq_chr is None or self.pos is None:
            return None
        return f"{self.refseq_chr}:g.{self.pos}{self.ref}>{self.alt}"

    def genotype_hgvs(self, n_alt: int) -> str | None:
        """HGVS allele notation of the diploid genotype, e.g. ``NC_...:g.[pos A>G];[pos=]``."""
        if self.refseq_chr is None or self.pos is None:
            return None
        changed = f"{self.pos}{self.ref}>{self.alt}"
        same = f"{self.pos}="
        alleles = [changed] * n_alt + [same] * (2 - n_alt)
        return f"{self.refseq_chr}:g." + ";".join(f"[{a}]" for a in alleles)


@dataclass(frozen=True)
class Context:
    """One bundle's shared state (immutable)."""

    assessment: Assessment
    codes: FhirCodes
    ids: Ids
    site: Site
    language: str
    status: str
    genotype: str | None  # only for a called genotype: never invented
    reported_on: str
    pdf: bytes | None
    source: str | Path | None
    report: ReportInfo

    @property
    def call(self) -> Call:
        return self.assessment.call

    def t(self, text: LocalText) -> str:
        """A LocalText in the bundle's language."""
        return text.get(self.language)

    def fail(self, path: str, what: str) -> InputError:
        return InputError(self.source, f"{path}: {what}")

    def local(self, system_name: str, code: str, path: str) -> Json:
        """The local coding of ``code``, which must be listed in the table."""
        listed = self.codes.local_codes(system_name)
        if code not in listed:
            raise self.fail(path, f"{code!r} is not one of {', '.join(listed)}")
        return self.codes.local_coding(system_name, code)


def pick(local_text: Any, language: str) -> str:
    """One language of a code-table text {"en": ..., "nb": ...}; English if that is missing."""
    if isinstance(local_text, Mapping):
        value = local_text.get(language) or local_text.get("en")
        return str(value) if value is not None else ""
    return "" if local_text is None else str(local_text)


def _text(obj: Mapping[str, Any], key: str, path: str, source: str | Path | None) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise InputError(source, f"{path}.{key}: missing or not a string")
    return value


def _seed(assessment: Assessment, codes: FhirCodes, source: str | Path | None) -> uuid.UUID:
    """The UUIDv5 every resource id derives from: tool + knowledge base + input hashes."""
    provenance = assessment.provenance
    inputs = provenance["inputs"]
    if not inputs:
        raise InputError(source, "$.provenance.inputs: expected a non-empty list")
    parts = [
        "pgx-report.fhir/1",
        str(provenance["tool_version"]),
        str(provenance["knowledge_base_version"]),
    ]
    parts.extend(f"{item['role']}={input_digest(item)[1]}" for item in inputs)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, codes.local_base)
    return uuid.uuid5(namespace, "\n".join(sorted(parts)))


def _site(call: Call, codes: FhirCodes, source: str | Path | None) -> Site:
    variant = call.variant
    at = "$.call.variant"
    rsid = _text(variant, "rsid", at, source)
    expected_rsid = codes.data["codes"]["rs1799971"]["code"]
    if rsid != expected_rsid:
        raise InputError(source, f"{at}.rsid: is {rsid!r}; this export describes {expected_rsid}")
    build = variant.get("build")
    builds = codes.data["builds"]
    if build is not None and build not in builds:
        raise InputError(source, f"{at}.build: {build!r} is not one of {', '.join(builds)}")
    pos = variant.get("pos")
    if pos is not None and (not isinstance(pos, int) or isinstance(pos, bool) or pos < 1):
        raise InputError(source, f"{at}.pos: expected a positive integer")
    return Site(
        gene=_text(variant, "gene", at, source),
        rsid=rsid,
        hgvs_c=_text(variant, "hgvs_c", at, source),
        hgvs_p=_text(variant, "hgvs_p", at, source),
        build=build,
        pos=pos,
        ref=_text(variant, "ref", at, source),
        alt=_text(variant, "alt", at, source),
        refseq_chr=builds[build]["refseq_chr6"] if build else None,
        assembly_key=builds[build]["assembly"] if build else None,
    )


def bundle_context(
    assessment: Assessment,
    codes: FhirCodes,
    pdf: bytes | None,
    source: str | Path | None,
    report: ReportInfo | None = None,
) -> Context:
    """The shared state of the bundle of ``assessment`` (the export's checks, see module)."""
    ids = Ids(_seed(assessment, codes, source))
    call = assessment.call
    site = _site(call, codes, source)
    status = call.status.value
    genotype: str | None = None
    if status == "called":
        genotype = call.genotype
        if not isinstance(genotype, str):
            raise InputError(source, "$.call.genotype: must not be null for a called genotype")
    elif status not in codes.data["not_determined_value"]:
        raise InputError(source, f"$.call.status: unknown status {status!r}")
    reported_on = assessment.dates.get("reported_on")
    if not isinstance(reported_on, str):
        raise InputError(source, "$.dates.reported_on: must not be null (the report date)")
    return Context(
        assessment=assessment,
        codes=codes,
        ids=ids,
        site=site,
        language=assessment.language,
        status=status,
        genotype=genotype,
        reported_on=reported_on,
        pdf=pdf,
        source=source,
        # without a report's identity: the preliminary report of this assessment
        report=report
        or ReportInfo(report_id_for(assessment), 1, "preliminary", assessment.language, "0" * 64),
    )
