"""HL7 FHIR export: an assessment (plus the rendered PDF) as a FHIR R4 ``Bundle``.

The bundle follows the HL7 FHIR Genomics Reporting Implementation Guide 3.0.0 (STU3):

* ``DiagnosticReport`` (profile *genomic-report*) referencing every result, with the PDF
  as ``presentedForm`` when one is given;
* ``Observation`` *variant* for OPRM1 rs1799971: Present / Absent when a genotype was
  called, *No call* / *Indeterminate* with the call's reason codes when it was not;
* ``Observation`` *genotype* (only when a genotype was called: never invented);
* ``Observation`` *therapeutic-implication* for naltrexone carrying the overall category,
  the evidence level of the genotype, the confidence, the conclusion and the citations;
* one ``DetectedIssue`` per contraindication;
* ``Patient``, ``Specimen``, ``Device`` (tool and knowledge-base versions) and
  ``Provenance`` (the SHA-256 of every input).

Pure: an assessment dict in, a bundle dict out. Every code comes from
``pgx_report/data/fhir_codes.yaml``. Resource ids are UUIDv5 values derived from the
assessment's input SHA-256s, so the same inputs always give the same bundle; no clock
is read.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pgx_report.contracts.schema import ASSESSMENT, check_version
from pgx_report.errors import InputError
from pgx_report.paths import DATA_DIR

log = logging.getLogger(__name__)

CODES_PATH = DATA_DIR / "fhir_codes.yaml"


Json = dict[str, Any]


@dataclass(frozen=True)
class FhirCodes:
    """The parsed ``fhir_codes.yaml``: every system, code and URL the export writes."""

    data: Mapping[str, Any]

    @property
    def local_base(self) -> str:
        return str(self.data["local_base"])

    def system(self, key: str) -> str:
        return str(self.data["systems"][key]["url"])

    def profile(self, key: str) -> str:
        return str(self.data["profiles"][key]["url"])

    def extension(self, key: str) -> str:
        return str(self.data["extensions"][key]["url"])

    def coding(self, key: str) -> Json:
        entry = self.data["codes"][key]
        return {
            "system": self.system(entry["system"]),
            "code": str(entry["code"]),
            "display": str(entry["display"]),
        }

    def concept(self, key: str, text: str | None = None) -> Json:
        out: Json = {"coding": [self.coding(key)]}
        if text:
            out["text"] = text
        return out

    def local_system(self, name: str) -> str:
        if name not in self.data["local_code_systems"]:
            raise KeyError(f"no local code system {name!r} in {CODES_PATH.name}")
        return f"{self.local_base}/CodeSystem/{name}"

    def local_codes(self, system_name: str) -> Mapping[str, Any]:
        """The listed codes of a local code system (empty for the open ones)."""
        return self.data["local_code_systems"][system_name]["concepts"] or {}

    def local_coding(self, system_name: str, code: str, display: str | None = None) -> Json:
        """A coding in one of the project's local code systems.

        Codes listed in the data file take their display from it; the open systems
        (call reasons, contraindications) take the assessment's own English text.
        """
        listed = self.local_codes(system_name)
        if listed and code not in listed:
            raise KeyError(f"{code!r} is not a {system_name} code in {CODES_PATH.name}")
        out: Json = {"system": self.local_system(system_name), "code": code}
        shown = listed.get(code, {}).get("display") if listed else display
        if shown:
            out["display"] = shown
        return out

    def identifier_system(self, key: str) -> str:
        return f"{self.local_base}/NamingSystem/{self.data['identifier_systems'][key]}"


@functools.lru_cache(maxsize=1)
def load_codes() -> FhirCodes:
    with CODES_PATH.open(encoding="utf-8") as handle:
        return FhirCodes(yaml.safe_load(handle))


# --------------------------------------------------------------------------- helpers


class _Reader:
    """Field access on the assessment that fails with the field path, never a KeyError."""

    def __init__(self, source: str | Path | None) -> None:
        self.source = source

    def get(self, obj: Any, path: str, *, optional: bool = False, at: str = "") -> Any:
        """``obj[path]``; ``at`` is where ``obj`` sits in the assessment (for messages)."""
        full = f"{at}.{path}" if at else path
        value = obj
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                if optional:
                    return None
                raise InputError(self.source, f"field {full}: missing")
            value = value[part]
        if value is None and not optional:
            raise InputError(self.source, f"field {full}: must not be null")
        return value

    def opt_text(self, obj: Any, path: str, *, at: str = "") -> str | None:
        """A string field that may be missing or null."""
        value = self.get(obj, path, optional=True, at=at)
        if value is not None and not isinstance(value, str):
            raise InputError(
                self.source, f"field {f'{at}.{path}' if at else path}: expected a string"
            )
        return value

    def text(self, obj: Any, path: str, *, at: str = "") -> str:
        """A required, non-null string field."""
        value = self.get(obj, path, at=at)
        if not isinstance(value, str):
            raise InputError(
                self.source, f"field {f'{at}.{path}' if at else path}: expected a string"
            )
        return value

    def fail(self, path: str, what: str) -> InputError:
        return InputError(self.source, f"field {path}: {what}")


def _project_namespace(codes: FhirCodes) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, codes.local_base)


def _seed(assessment: Mapping[str, Any], read: _Reader, codes: FhirCodes) -> uuid.UUID:
    """The UUIDv5 every resource id derives from: tool + knowledge base + input hashes."""
    inputs = read.get(assessment, "provenance.inputs")
    if not isinstance(inputs, list) or not inputs:
        raise read.fail("provenance.inputs", "expected a non-empty list")
    parts = [
        "pgx-report.fhir/1",
        str(read.get(assessment, "provenance.tool_version")),
        str(read.get(assessment, "provenance.knowledge_base_version")),
    ]
    for i, item in enumerate(inputs):
        role = read.text(item, "role", at=f"provenance.inputs[{i}]")
        sha = read.text(item, "sha256", at=f"provenance.inputs[{i}]")
        parts.append(f"{role}={sha}")
    return uuid.uuid5(_project_namespace(codes), "\n".join(sorted(parts)))


class _Ids:
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


def _pick(local_text: Any, language: str) -> str:
    """One language of a LocalText {"en": ..., "nb": ...}; English if that is missing."""
    if isinstance(local_text, Mapping):
        value = local_text.get(language) or local_text.get("en")
        return str(value) if value is not None else ""
    return "" if local_text is None else str(local_text)


def _pick_list(local_text: Any, language: str) -> list[str]:
    if isinstance(local_text, Mapping):
        value = local_text.get(language) or local_text.get("en") or []
        return [str(item) for item in value]
    return []


def _categories(codes: FhirCodes) -> list[Json]:
    return [codes.concept("category_laboratory"), codes.concept("category_genetics")]


def _component(codes: FhirCodes, key: str, **value: Any) -> Json:
    return {"code": codes.concept(key), **value}


def _cc_component(codes: FhirCodes, key: str, coding: Json, text: str | None = None) -> Json:
    concept: Json = {"coding": [coding]}
    if text:
        concept["text"] = text
    return _component(codes, key, valueCodeableConcept=concept)


def _local_component(codes: FhirCodes, concept_code: str, coding: Json) -> Json:
    return {
        "code": {"coding": [codes.local_coding("concepts", concept_code)]},
        "valueCodeableConcept": {"coding": [coding]},
    }


# --------------------------------------------------------------------------- the site


@dataclass(frozen=True)
class _Site:
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


def _site(call: Mapping[str, Any], read: _Reader, codes: FhirCodes) -> _Site:
    variant = read.get(call, "variant", at="call")
    rsid = read.text(variant, "rsid", at="call.variant")
    expected_rsid = codes.data["codes"]["rs1799971"]["code"]
    if rsid != expected_rsid:
        raise read.fail("call.variant.rsid", f"is {rsid!r}; this export describes {expected_rsid}")
    build = read.opt_text(variant, "build", at="call.variant")
    builds = codes.data["builds"]
    if build is not None and build not in builds:
        raise read.fail("call.variant.build", f"{build!r} is not one of {', '.join(builds)}")
    pos = read.get(variant, "pos", optional=True, at="call.variant")
    if pos is not None and (not isinstance(pos, int) or isinstance(pos, bool) or pos < 1):
        raise read.fail("call.variant.pos", "expected a positive integer")
    return _Site(
        gene=read.text(variant, "gene", at="call.variant"),
        rsid=rsid,
        hgvs_c=read.text(variant, "hgvs_c", at="call.variant"),
        hgvs_p=read.text(variant, "hgvs_p", at="call.variant"),
        build=build,
        pos=pos,
        ref=read.text(variant, "ref", at="call.variant"),
        alt=read.text(variant, "alt", at="call.variant"),
        refseq_chr=builds[build]["refseq_chr6"] if build else None,
        assembly_key=builds[build]["assembly"] if build else None,
    )


def _count_alt(genotype: str, site: _Site, read: _Reader) -> int:
    alleles = genotype.split("/")
    if len(alleles) != 2 or any(a not in (site.ref, site.alt) for a in alleles):
        raise read.fail(
            "call.genotype", f"{genotype!r} is not a diploid genotype of {site.ref} and {site.alt}"
        )
    return alleles.count(site.alt)


def _site_components(codes: FhirCodes, site: _Site) -> list[Json]:
    """Components shared by the Variant and Genotype observations (the gene and build)."""
    out = [_cc_component(codes, "gene_studied", codes.coding("oprm1"))]
    if site.assembly_key:
        out.append(
            _cc_component(codes, "reference_sequence_assembly", codes.coding(site.assembly_key))
        )
    return out


def _hgvs_concept(codes: FhirCodes, expression: str) -> Json:
    return {"coding": [{"system": codes.system("hgvs"), "code": expression}], "text": expression}


def _refseq_concept(codes: FhirCodes, accession: str) -> Json:
    return {"coding": [{"system": codes.system("refseq"), "code": accession}]}


def _variant_components(codes: FhirCodes, site: _Site) -> list[Json]:
    comps = _site_components(codes, site)
    comps.append(_cc_component(codes, "variation_code", codes.coding("rs1799971")))
    if site.hgvs_c:
        comps.append(
            _component(codes, "coding_hgvs", valueCodeableConcept=_hgvs_concept(codes, site.hgvs_c))
        )
        comps.append(
            _component(
                codes,
                "transcript_ref_seq",
                valueCodeableConcept=_refseq_concept(codes, site.hgvs_c.split(":", 1)[0]),
            )
        )
    if site.hgvs_p:
        comps.append(
            _component(
                codes, "protein_hgvs", valueCodeableConcept=_hgvs_concept(codes, site.hgvs_p)
            )
        )
    ghgvs = site.ghgvs()
    if ghgvs and site.refseq_chr:
        comps.append(
            _component(codes, "genomic_hgvs", valueCodeableConcept=_hgvs_concept(codes, ghgvs))
        )
        comps.append(
            _component(
                codes,
                "genomic_ref_seq",
                valueCodeableConcept=_refseq_concept(codes, site.refseq_chr),
            )
        )
    if site.pos is not None:
        comps.append(
            _component(
                codes,
                "exact_start_end",
                valueRange={"low": {"value": site.pos}, "high": {"value": site.pos}},
            )
        )
        comps.append(_cc_component(codes, "coordinate_system", codes.coding("one_based")))
    comps.append(_component(codes, "ref_allele", valueString=site.ref))
    comps.append(_component(codes, "alt_allele", valueString=site.alt))
    comps.append(_cc_component(codes, "genomic_source_class", codes.coding("germline")))
    return comps


def _status_components(codes: FhirCodes, call: Mapping[str, Any], read: _Reader) -> list[Json]:
    status = read.text(call, "status", at="call")
    comps = [_local_component(codes, "call-status", codes.local_coding("call-status", status))]
    reason_codes = read.get(call, "reason_codes", optional=True, at="call") or []
    reasons = read.get(call, "reasons", optional=True, at="call") or []
    for i, code in enumerate(reason_codes):
        sentence = str(reasons[i]) if i < len(reasons) else None
        comps.append(
            _local_component(
                codes, "call-reason", codes.local_coding("call-reason", str(code), sentence)
            )
        )
    return comps


# --------------------------------------------------------------------------- resources


class _Builder:
    def __init__(
        self, assessment: Mapping[str, Any], read: _Reader, codes: FhirCodes, pdf: bytes | None
    ) -> None:
        self.a = assessment
        self.read = read
        self.codes = codes
        self.pdf = pdf
        self.ids = _Ids(_seed(assessment, read, codes))
        self.language = read.text(assessment, "language")
        self.call = read.get(assessment, "call")
        self.site = _site(self.call, read, codes)
        self.status = read.text(self.call, "status", at="call")
        self.reported_on = read.text(assessment, "dates.reported_on")
        self.genotype: str | None = None
        if self.status == "called":
            self.genotype = read.text(self.call, "genotype", at="call")
        elif self.status not in codes.data["not_determined_value"]:
            raise read.fail("call.status", f"unknown status {self.status!r}")

    # ---- common pieces
    def local(self, system_name: str, obj: Any, path: str, label: str | None = None) -> Json:
        """The local coding of the string field ``path`` of ``obj``, checked against the table."""
        code = self.read.text(obj, path)
        listed = self.codes.local_codes(system_name)
        if code not in listed:
            raise self.read.fail(label or path, f"{code!r} is not one of {', '.join(listed)}")
        return self.codes.local_coding(system_name, code)

    def t(self, local_text: Any) -> str:
        return _pick(local_text, self.language)

    def subject(self) -> Json:
        return {"subject": self.ids.ref("Patient")}

    def observation(self, key: str, profile: str, code: Json) -> Json:
        return {
            "resourceType": "Observation",
            "id": self.ids.id(key),
            "meta": {"profile": [self.codes.profile(profile)]},
            "status": "final",
            "category": _categories(self.codes),
            "code": code,
            **self.subject(),
            "effectiveDateTime": self.reported_on,
            "specimen": self.ids.ref("Specimen"),
            "device": self.ids.ref("Device"),
        }

    # ---- Patient, Specimen, Device
    def patient(self) -> Json:
        patient = self.read.get(self.a, "patient")
        res: Json = {
            "resourceType": "Patient",
            "id": self.ids.id("Patient"),
            "identifier": [
                {
                    "system": self.codes.identifier_system("patient"),
                    "value": self.read.text(patient, "id", at="patient"),
                }
            ],
        }
        name = self.read.opt_text(patient, "name", at="patient")
        if name:
            res["name"] = [{"text": name}]
        sex = self.read.opt_text(patient, "sex", at="patient")
        if sex:
            genders = self.codes.data["gender"]
            if sex not in genders:
                raise self.read.fail("patient.sex", f"{sex!r} is not one of {', '.join(genders)}")
            res["gender"] = genders[sex]
        birth_date = self.read.opt_text(patient, "birth_date", at="patient")
        if birth_date:
            res["birthDate"] = birth_date
        return res

    def specimen(self) -> Json:
        return {
            "resourceType": "Specimen",
            "id": self.ids.id("Specimen"),
            "identifier": [
                {
                    "system": self.codes.identifier_system("specimen"),
                    "value": self.read.text(self.a, "sample_id"),
                }
            ],
            **self.subject(),
        }

    def device(self) -> Json:
        prov = self.read.get(self.a, "provenance")
        properties: list[Json] = []
        thresholds = self.read.get(prov, "thresholds", optional=True, at="provenance") or {}
        for name in sorted(thresholds):
            value = thresholds[name]
            if isinstance(value, int | float) and not isinstance(value, bool):
                properties.append({"type": {"text": name}, "valueQuantity": [{"value": value}]})
            elif value is not None:
                properties.append({"type": {"text": name}, "valueCode": [{"text": str(value)}]})
        mismatch = self.read.get(prov, "allow_sample_mismatch", optional=True, at="provenance")
        if mismatch is not None:
            properties.append(
                {
                    "type": {"text": "allow_sample_mismatch"},
                    "valueCode": [{"text": str(mismatch).lower()}],
                }
            )
        res: Json = {
            "resourceType": "Device",
            "id": self.ids.id("Device"),
            "deviceName": [
                {"name": str(self.read.get(prov, "tool", at="provenance")), "type": "model-name"}
            ],
            "type": {"text": "pharmacogenomic report generator (software)"},
            "version": [
                {
                    "type": {"text": "tool"},
                    "value": str(self.read.get(prov, "tool_version", at="provenance")),
                },
                {
                    "type": {"text": "knowledge base"},
                    "value": str(self.read.get(prov, "knowledge_base_version", at="provenance")),
                },
            ],
        }
        if properties:
            res["property"] = properties
        return res

    # ---- the genomic findings
    def variant(self) -> Json:
        codes = self.codes
        res = self.observation("Observation/variant", "variant", codes.concept("variant"))
        components = _variant_components(codes, self.site)
        if self.genotype is not None:
            n_alt = _count_alt(self.genotype, self.site, self.read)
            res["valueCodeableConcept"] = codes.concept("present" if n_alt else "absent")
            if n_alt:
                state = "heterozygous" if n_alt == 1 else "homozygous"
                components.append(_cc_component(codes, "allelic_state", codes.coding(state)))
        else:
            answer = codes.data["not_determined_value"][self.status]
            res["valueCodeableConcept"] = codes.concept(answer)
        components.extend(_status_components(codes, self.call, self.read))
        res["component"] = components
        notes = [
            str(r) for r in self.read.get(self.call, "reasons", optional=True, at="call") or []
        ]
        if notes:
            res["note"] = [{"text": n} for n in notes]
        return res

    def genotype_obs(self) -> Json | None:
        if self.genotype is None:
            return None
        codes = self.codes
        n_alt = _count_alt(self.genotype, self.site, self.read)
        value: Json = {"text": f"{self.site.gene} {self.site.rsid} {self.genotype}"}
        expression = self.site.genotype_hgvs(n_alt)
        if expression:
            value["coding"] = [{"system": codes.system("hgvs"), "code": expression}]
        res = self.observation("Observation/genotype", "genotype", codes.concept("genotype"))
        res["valueCodeableConcept"] = value
        res["component"] = _site_components(codes, self.site)
        res["derivedFrom"] = [self.ids.ref("Observation/variant")]
        summary = self.t(self.read.get(self.a, "genotype_summary", optional=True))
        if summary:
            res["note"] = [{"text": summary}]
        return res

    # ---- the therapeutic implication
    def _genotype_factor(self) -> Mapping[str, Any]:
        factors = self.read.get(self.a, "factors")
        for factor in factors if isinstance(factors, list) else []:
            if isinstance(factor, Mapping) and factor.get("id") == "oprm1_genotype":
                return factor
        raise self.read.fail("factors", "no oprm1_genotype factor")

    def conclusion_lines(self) -> list[str]:
        """Contraindications first (a safety finding is never hidden), then the rest."""
        overall = self.read.get(self.a, "overall")
        lines = [self.t(self.read.get(overall, "label", at="overall"))]
        for i, item in enumerate(self.contraindications()):
            lines.append(self.t(self.read.get(item, "text", at=f"contraindications[{i}]")))
        lines.extend(
            _pick_list(
                self.read.get(overall, "rationale", optional=True, at="overall"), self.language
            )
        )
        lines.append(self.t(self.read.get(overall, "not_validated_notice", at="overall")))
        return [line for line in lines if line]

    def contraindications(self) -> list[Mapping[str, Any]]:
        items = self.read.get(self.a, "contraindications", optional=True) or []
        if not isinstance(items, list):
            raise self.read.fail("contraindications", "expected a list")
        return items

    def citations(self) -> list[Json]:
        url = self.codes.extension("related_artifact")
        refs = self.read.get(self.a, "references", optional=True) or []
        out = []
        for ref in sorted(refs, key=lambda r: (r.get("number") is None, r.get("number"))):
            text = self.read.get(ref, "text", at="references[]")
            artifact: Json = {"type": "citation", "citation": str(text)}
            if ref.get("number") is not None:
                artifact["label"] = str(ref["number"])
            out.append({"url": url, "valueRelatedArtifact": artifact})
        return out

    def notes(self) -> list[Json]:
        lines: list[str] = []
        for factor in self.read.get(self.a, "factors"):
            parts = [self.t(factor.get(key)) for key in ("value_text", "explanation")]
            lines.append(f"{self.t(factor.get('label'))}: " + " ".join(p for p in parts if p))
        guidance = self.read.get(self.a, "guidance", optional=True) or {}
        for key in sorted(guidance):
            text = self.t(guidance[key])
            if text:
                lines.append(text)
        for item in self.read.get(self.a, "limitations", optional=True) or []:
            text = self.t(item)
            if text:
                lines.append(text)
        return [{"text": line} for line in lines if line]

    def therapeutic_implication(self) -> Json:
        codes = self.codes
        overall = self.read.get(self.a, "overall")
        factor = self._genotype_factor()
        med = codes.data["medication"]
        res = self.observation(
            "Observation/therapeutic-implication",
            "therapeutic_implication",
            codes.concept("therapeutic_implication"),
        )
        res["extension"] = self.citations()
        res["derivedFrom"] = (
            [self.ids.ref("Observation/genotype")] if self.genotype is not None else []
        ) + [self.ids.ref("Observation/variant")]
        res["component"] = [
            _cc_component(
                codes,
                "therapeutic_implication",
                self.local("overall-category", self.a, "overall.category"),
                self.t(self.read.get(overall, "label", at="overall")),
            ),
            _component(
                codes,
                "medication_assessed",
                valueCodeableConcept={
                    "coding": [codes.coding(key) for key in med["codings"]],
                    "text": _pick(med["text"], self.language),
                },
            ),
            _component(
                codes,
                "phenotypic_treatment_context",
                valueCodeableConcept={
                    "text": _pick(codes.data["treatment_context"], self.language)
                },
            ),
            _cc_component(
                codes,
                "evidence_level",
                self.local(
                    "evidence-level",
                    factor,
                    "evidence_level",
                    "factors[oprm1_genotype].evidence_level",
                ),
            ),
            _local_component(
                codes, "overall-confidence", self.local("confidence", self.a, "overall.confidence")
            ),
            _component(codes, "conclusion_string", valueString="\n".join(self.conclusion_lines())),
        ]
        # Absolute contraindications the questionnaire left unanswered: the receiving
        # system must see that they were NOT checked (the conclusion says so in words).
        unchecked = self.read.get(
            overall, "unchecked_contraindications", optional=True, at="overall"
        )
        for cid in unchecked or []:
            res["component"].append(
                _local_component(
                    codes,
                    "unchecked-contraindication",
                    codes.local_coding("contraindication", str(cid)),
                )
            )
        notes = self.notes()
        if notes:
            res["note"] = notes
        return res

    def detected_issues(self) -> list[tuple[str, Json]]:
        severities = self.codes.data["contraindication_severity"]
        out = []
        for i, item in enumerate(self.contraindications()):
            at = f"contraindications[{i}]"
            cid = self.read.text(item, "id", at=at)
            severity = self.read.text(item, "severity", at=at)
            if severity not in severities:
                raise self.read.fail(
                    f"contraindications[{i}].severity",
                    f"{severity!r} is not one of {', '.join(severities)}",
                )
            text = self.t(self.read.get(item, "text", at=at))
            # the concise label where the assessment has one, else the full text
            label = self.read.get(item, "label", optional=True, at=at) or self.read.get(
                item, "text", at=at
            )
            key = f"DetectedIssue/{cid}"
            out.append(
                (
                    key,
                    {
                        "resourceType": "DetectedIssue",
                        "id": self.ids.id(key),
                        "status": "final",
                        "code": {
                            "coding": [
                                self.codes.local_coding("contraindication", cid, _pick(label, "en"))
                            ],
                            "text": self.t(label),
                        },
                        "severity": severities[severity],
                        "patient": self.ids.ref("Patient"),
                        "identifiedDateTime": self.reported_on,
                        "author": self.ids.ref("Device"),
                        "implicated": [self.ids.ref("Observation/therapeutic-implication")],
                        "detail": text,
                    },
                )
            )
        return out

    # ---- the report and its provenance
    def report(self, results: Sequence[str]) -> Json:
        codes = self.codes
        overall = self.read.get(self.a, "overall")
        res: Json = {
            "resourceType": "DiagnosticReport",
            "id": self.ids.id("DiagnosticReport"),
            "meta": {"profile": [codes.profile("genomic_report")]},
            "language": self.language,
            "status": "final",
            "category": [codes.concept("category_genetics")],
            "code": codes.concept("report"),
            **self.subject(),
            "effectiveDateTime": self.reported_on,
            "specimen": [self.ids.ref("Specimen")],
            "result": [self.ids.ref(key) for key in results],
            "conclusion": "\n".join(self.conclusion_lines()),
            "conclusionCode": [
                {
                    "coding": [self.local("overall-category", self.a, "overall.category")],
                    "text": self.t(self.read.get(overall, "label", at="overall")),
                }
            ],
        }
        if self.pdf is not None:
            res["presentedForm"] = [
                {
                    "contentType": "application/pdf",
                    "language": self.language,
                    "data": base64.b64encode(self.pdf).decode("ascii"),
                    "size": len(self.pdf),
                    # FHIR R4 Attachment.hash is the base64 SHA-1 of the data.
                    "hash": base64.b64encode(hashlib.sha1(self.pdf).digest()).decode("ascii"),
                    "title": f"pgx-report {self.read.text(self.a, 'sample_id')}",
                }
            ]
        return res

    def provenance(self, targets: Sequence[str]) -> Json:
        entities = []
        for item in self.read.get(self.a, "provenance.inputs"):
            role = str(item["role"])
            path = item.get("path")
            entities.append(
                {
                    "role": "source",
                    "what": {
                        "identifier": {
                            "system": self.codes.identifier_system("sha256"),
                            "value": str(item["sha256"]),
                        },
                        "display": f"{role}: {path}" if path else role,
                    },
                }
            )
        return {
            "resourceType": "Provenance",
            "id": self.ids.id("Provenance"),
            "target": [self.ids.ref(key) for key in targets],
            # An instant is required: the report date at 00:00 UTC (never the clock).
            "recorded": f"{self.reported_on}T00:00:00Z",
            "agent": [{"who": self.ids.ref("Device")}],
            "entity": entities,
        }

    def bundle(self) -> Json:
        resources: list[tuple[str, Json]] = []
        variant = self.variant()
        genotype = self.genotype_obs()
        implication = self.therapeutic_implication()
        results = ["Observation/variant"]
        if genotype is not None:
            results.append("Observation/genotype")
        results.append("Observation/therapeutic-implication")
        issues = self.detected_issues()
        resources.append(("DiagnosticReport", self.report(results)))
        resources.append(("Patient", self.patient()))
        resources.append(("Specimen", self.specimen()))
        resources.append(("Observation/variant", variant))
        if genotype is not None:
            resources.append(("Observation/genotype", genotype))
        resources.append(("Observation/therapeutic-implication", implication))
        resources.extend(issues)
        resources.append(("Device", self.device()))
        targets = ["DiagnosticReport", *results, *(key for key, _ in issues)]
        resources.append(("Provenance", self.provenance(targets)))
        bundle_key = "Bundle"
        if self.pdf is not None:
            bundle_key += ":" + hashlib.sha256(self.pdf).hexdigest()
        return {
            "resourceType": "Bundle",
            "id": self.ids.id(bundle_key),
            "identifier": {"system": self.codes.system("uri"), "value": self.ids.url(bundle_key)},
            "type": "collection",
            "entry": [
                {"fullUrl": self.ids.url(key), "resource": resource} for key, resource in resources
            ],
        }


def build_bundle(
    assessment: Mapping[str, Any],
    pdf: bytes | None = None,
    *,
    source: str | Path | None = None,
    codes: FhirCodes | None = None,
) -> Json:
    """The FHIR R4 Bundle (a plain dict, ready for canonical JSON) of one assessment.

    ``pdf`` is the rendered report, attached to the DiagnosticReport when given.
    ``source`` names the assessment file in error messages.
    """
    read = _Reader(source)
    if not isinstance(assessment, Mapping):
        raise InputError(source, "expected a JSON object")
    check_version(assessment, ASSESSMENT, source)
    return _Builder(assessment, read, codes or load_codes(), pdf).bundle()
