"""The FHIR resources of one bundle, each a function of the bundle's :class:`Context`."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from pgx_report.contracts.assessment import ContraindicationResult, FactorResult, input_digest
from pgx_report.outputs.fhir.codes import Json
from pgx_report.outputs.fhir.components import (
    categories,
    cc_component,
    component,
    count_alt,
    local_component,
    site_components,
    status_components,
    variant_components,
)
from pgx_report.outputs.fhir.context import Context, pick

# --------------------------------------------------------------------------- common pieces


def _subject(ctx: Context) -> Json:
    return {"subject": ctx.ids.ref("Patient")}


def _observation(ctx: Context, key: str, profile: str, code: Json) -> Json:
    return {
        "resourceType": "Observation",
        "id": ctx.ids.id(key),
        "meta": {"profile": [ctx.codes.profile(profile)]},
        "status": "final",
        "category": categories(ctx.codes),
        "code": code,
        **_subject(ctx),
        "effectiveDateTime": ctx.reported_on,
        "specimen": ctx.ids.ref("Specimen"),
        "device": ctx.ids.ref("Device"),
    }


def _category_coding(ctx: Context) -> Json:
    return ctx.local("overall-category", ctx.assessment.overall.category, "$.overall.category")


# ------------------------------------------------------------------ Patient, Specimen, Device


def patient(ctx: Context) -> Json:
    data = ctx.assessment.patient
    res: Json = {
        "resourceType": "Patient",
        "id": ctx.ids.id("Patient"),
        "identifier": [{"system": ctx.codes.identifier_system("patient"), "value": data["id"]}],
    }
    name = data.get("name")
    if name:
        res["name"] = [{"text": name}]
    sex = data.get("sex")
    if sex:
        genders = ctx.codes.data["gender"]
        if sex not in genders:
            raise ctx.fail("$.patient.sex", f"{sex!r} is not one of {', '.join(genders)}")
        res["gender"] = genders[sex]
    birth_date = data.get("birth_date")
    if birth_date:
        res["birthDate"] = birth_date
    return res


def specimen(ctx: Context) -> Json:
    """The specimen: the sample id, and what the request gave (type, accession id,
    collection and receipt dates, the ServiceRequest)."""
    res: Json = {
        "resourceType": "Specimen",
        "id": ctx.ids.id("Specimen"),
        "identifier": [
            {
                "system": ctx.codes.identifier_system("specimen"),
                "value": ctx.assessment.sample_id,
            }
        ],
    }
    request = ctx.report.request
    if request is not None and request.specimen_id:
        res["accessionIdentifier"] = {
            "system": ctx.codes.identifier_system("accession"),
            "value": request.specimen_id,
        }
    if request is not None and request.specimen_type:
        res["type"] = {"text": request.specimen_type}
    res.update(_subject(ctx))
    if request is not None and request.received:
        res["receivedTime"] = request.received
    if service_request(ctx) is not None:
        res["request"] = [ctx.ids.ref("ServiceRequest")]
    if request is not None and request.collected:
        res["collection"] = {"collectedDateTime": request.collected}
    return res


def service_request(ctx: Context) -> Json | None:
    """The order (requesting clinician, indication), when the request names either."""
    request = ctx.report.request
    if request is None or not (request.requested_by or request.indication):
        return None
    res: Json = {
        "resourceType": "ServiceRequest",
        "id": ctx.ids.id("ServiceRequest"),
        "status": "completed",
        "intent": "order",
        "code": {"text": f"{ctx.site.gene} {ctx.site.rsid} genotype"},
        **_subject(ctx),
    }
    if request.requested_by:
        res["requester"] = {"display": request.requested_by}
    if request.indication:
        res["reasonCode"] = [{"text": request.indication}]
    res["specimen"] = [ctx.ids.ref("Specimen")]
    return res


def organization(ctx: Context) -> Json | None:
    """The performing laboratory (from the report's lab profile), or None without one."""
    lab = ctx.report.lab
    if lab is None:
        return None
    res: Json = {
        "resourceType": "Organization",
        "id": ctx.ids.id("Organization"),
        "identifier": [{"system": ctx.codes.identifier_system("lab_profile"), "value": lab.sha256}],
        "name": lab.name,
    }
    telecom = [
        {"system": system, "value": value}
        for system, value in (("phone", lab.phone), ("email", lab.email))
        if value
    ]
    if telecom:
        res["telecom"] = telecom
    if lab.address:
        res["address"] = [{"line": list(lab.address), "text": ", ".join(lab.address)}]
    return res


def _device_properties(ctx: Context) -> list[Json]:
    provenance = ctx.assessment.provenance
    properties: list[Json] = []
    thresholds = provenance.get("thresholds") or {}
    for name in sorted(thresholds):
        value = thresholds[name]
        if isinstance(value, int | float) and not isinstance(value, bool):
            properties.append({"type": {"text": name}, "valueQuantity": [{"value": value}]})
        elif value is not None:
            properties.append({"type": {"text": name}, "valueCode": [{"text": str(value)}]})
    mismatch = provenance.get("allow_sample_mismatch")
    if mismatch is not None:
        properties.append(
            {
                "type": {"text": "allow_sample_mismatch"},
                "valueCode": [{"text": str(mismatch).lower()}],
            }
        )
    return properties


def device(ctx: Context) -> Json:
    provenance = ctx.assessment.provenance
    res: Json = {
        "resourceType": "Device",
        "id": ctx.ids.id("Device"),
        "deviceName": [{"name": str(provenance["tool"]), "type": "model-name"}],
        "type": {"text": "pharmacogenomic report generator (software)"},
        "version": [
            {"type": {"text": "tool"}, "value": str(provenance["tool_version"])},
            {
                "type": {"text": "knowledge base"},
                "value": str(provenance["knowledge_base_version"]),
            },
        ],
    }
    properties = _device_properties(ctx)
    if properties:
        res["property"] = properties
    return res


# --------------------------------------------------------------------------- genomic findings


def variant(ctx: Context) -> Json:
    codes = ctx.codes
    res = _observation(ctx, "Observation/variant", "variant", codes.concept("variant"))
    components = variant_components(codes, ctx.site)
    if ctx.genotype is not None:
        n_alt = count_alt(ctx, ctx.genotype)
        res["valueCodeableConcept"] = codes.concept("present" if n_alt else "absent")
        if n_alt:
            state = "heterozygous" if n_alt == 1 else "homozygous"
            components.append(cc_component(codes, "allelic_state", codes.coding(state)))
    else:
        answer = codes.data["not_determined_value"][ctx.status]
        res["valueCodeableConcept"] = codes.concept(answer)
    components.extend(status_components(codes, ctx.call))
    res["component"] = components
    notes = list(ctx.call.reasons)
    if notes:
        res["note"] = [{"text": note} for note in notes]
    return res


def genotype(ctx: Context) -> Json | None:
    """The genotype observation, only for a called genotype (never invented)."""
    if ctx.genotype is None:
        return None
    codes = ctx.codes
    n_alt = count_alt(ctx, ctx.genotype)
    value: Json = {"text": f"{ctx.site.gene} {ctx.site.rsid} {ctx.genotype}"}
    expression = ctx.site.genotype_hgvs(n_alt)
    if expression:
        value["coding"] = [{"system": codes.system("hgvs"), "code": expression}]
    res = _observation(ctx, "Observation/genotype", "genotype", codes.concept("genotype"))
    res["valueCodeableConcept"] = value
    res["component"] = site_components(codes, ctx.site)
    res["derivedFrom"] = [ctx.ids.ref("Observation/variant")]
    summary = ctx.t(ctx.assessment.genotype_summary)
    if summary:
        res["note"] = [{"text": summary}]
    return res


# --------------------------------------------------------------------------- the implication


def _genotype_factor(ctx: Context) -> FactorResult:
    for factor in ctx.assessment.factors:
        if factor.id == "oprm1_genotype":
            return factor
    raise ctx.fail("$.factors", "no oprm1_genotype factor")


def conclusion_lines(ctx: Context) -> list[str]:
    """Contraindications first (a safety finding is never hidden), then the rest."""
    overall = ctx.assessment.overall
    lines = [ctx.t(overall.label)]
    lines.extend(ctx.t(item.text) for item in ctx.assessment.contraindications)
    lines.extend(ctx.t(sentence) for sentence in overall.rationale)
    lines.append(ctx.t(overall.not_validated_notice))
    return [line for line in lines if line]


def _citations(ctx: Context) -> list[Json]:
    url = ctx.codes.extension("related_artifact")
    out = []
    references = ctx.assessment.references
    for ref in sorted(references, key=lambda r: (r.get("number") is None, r.get("number"))):
        artifact: Json = {"type": "citation", "citation": str(ref["text"])}
        if ref.get("number") is not None:
            artifact["label"] = str(ref["number"])
        out.append({"url": url, "valueRelatedArtifact": artifact})
    return out


def _notes(ctx: Context) -> list[Json]:
    assessment = ctx.assessment
    lines: list[str] = []
    for factor in assessment.factors:
        parts = [ctx.t(factor.value_text), ctx.t(factor.explanation)]
        lines.append(f"{ctx.t(factor.label)}: " + " ".join(part for part in parts if part))
    for key in sorted(assessment.guidance):
        text = ctx.t(assessment.guidance[key])
        if text:
            lines.append(text)
    for item in assessment.limitations:
        text = ctx.t(item)
        if text:
            lines.append(text)
    return [{"text": line} for line in lines if line]


def _implication_components(ctx: Context) -> list[Json]:
    codes = ctx.codes
    overall = ctx.assessment.overall
    factor = _genotype_factor(ctx)
    medication = codes.data["medication"]
    evidence_path = "$.factors[oprm1_genotype].evidence_level"
    components = [
        cc_component(codes, "therapeutic_implication", _category_coding(ctx), ctx.t(overall.label)),
        component(
            codes,
            "medication_assessed",
            valueCodeableConcept={
                "coding": [codes.coding(key) for key in medication["codings"]],
                "text": pick(medication["text"], ctx.language),
            },
        ),
        component(
            codes,
            "phenotypic_treatment_context",
            valueCodeableConcept={"text": pick(codes.data["treatment_context"], ctx.language)},
        ),
        cc_component(
            codes,
            "evidence_level",
            ctx.local("evidence-level", factor.evidence_level, evidence_path),
        ),
        local_component(
            codes,
            "overall-confidence",
            ctx.local("confidence", overall.confidence, "$.overall.confidence"),
        ),
        component(codes, "conclusion_string", valueString="\n".join(conclusion_lines(ctx))),
    ]
    # Absolute contraindications the questionnaire left unanswered: the receiving
    # system must see that they were NOT checked (the conclusion says so in words).
    for cid in overall.unchecked_contraindications:
        components.append(
            local_component(
                codes,
                "unchecked-contraindication",
                codes.local_coding("contraindication", str(cid)),
            )
        )
    return components


def therapeutic_implication(ctx: Context) -> Json:
    res = _observation(
        ctx,
        "Observation/therapeutic-implication",
        "therapeutic_implication",
        ctx.codes.concept("therapeutic_implication"),
    )
    res["extension"] = _citations(ctx)
    res["derivedFrom"] = (
        [ctx.ids.ref("Observation/genotype")] if ctx.genotype is not None else []
    ) + [ctx.ids.ref("Observation/variant")]
    res["component"] = _implication_components(ctx)
    notes = _notes(ctx)
    if notes:
        res["note"] = notes
    return res


def _detected_issue(ctx: Context, index: int, item: ContraindicationResult) -> tuple[str, Json]:
    severities = ctx.codes.data["contraindication_severity"]
    if item.severity not in severities:
        raise ctx.fail(
            f"$.contraindications[{index}].severity",
            f"{item.severity!r} is not one of {', '.join(severities)}",
        )
    key = f"DetectedIssue/{item.id}"
    return key, {
        "resourceType": "DetectedIssue",
        "id": ctx.ids.id(key),
        "status": "final",
        "code": {
            # the concise label (the code's display is always the English one)
            "coding": [ctx.codes.local_coding("contraindication", item.id, item.label.en)],
            "text": ctx.t(item.label),
        },
        "severity": severities[item.severity],
        "patient": ctx.ids.ref("Patient"),
        "identifiedDateTime": ctx.reported_on,
        "author": ctx.ids.ref("Device"),
        "implicated": [ctx.ids.ref("Observation/therapeutic-implication")],
        "detail": ctx.t(item.text),
    }


def detected_issues(ctx: Context) -> list[tuple[str, Json]]:
    """One DetectedIssue per contraindication, keyed ``DetectedIssue/<id>``."""
    return [
        _detected_issue(ctx, index, item)
        for index, item in enumerate(ctx.assessment.contraindications)
    ]


# --------------------------------------------------------------------------- report, provenance


def _presented_form(ctx: Context, pdf: bytes) -> Json:
    return {
        "contentType": "application/pdf",
        "language": ctx.language,
        "data": base64.b64encode(pdf).decode("ascii"),
        "size": len(pdf),
        # FHIR R4 Attachment.hash is the base64 SHA-1 of the data.
        "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),
        "title": f"pgx-report {ctx.assessment.sample_id}",
    }


def _report_identifiers(ctx: Context) -> list[Json]:
    info = ctx.report
    return [
        {"system": ctx.codes.identifier_system("report"), "value": info.report_id},
        {
            "system": ctx.codes.identifier_system("report_version"),
            "value": f"{info.report_id}-v{info.version}",
        },
    ]


def _instant(text: str) -> str:
    """An ISO 8601 time with offset as a FHIR instant (seconds; offset as given)."""
    import datetime as dt

    when = dt.datetime.fromisoformat(text)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


_ACTIVITY = {"final": "release", "amended": "amendment", "corrected": "correction"}


def release_provenance(ctx: Context) -> Json:
    """The Provenance of a release or amendment: who reviewed and released the report,
    when, why, and (role ``revision``) the SHA-256 of the report version it replaces."""
    info = ctx.report
    assert info.released_at is not None and info.reviewer is not None
    res: Json = {
        "resourceType": "Provenance",
        "id": ctx.ids.id("Provenance/release"),
        "target": [ctx.ids.ref("DiagnosticReport")],
        "recorded": _instant(info.released_at),
        "activity": {"text": _ACTIVITY[info.status]},
        "agent": [{"type": {"text": "verifier"}, "who": {"display": info.reviewer}}],
    }
    reasons = [text for text in (info.reason, info.override) if text]
    if reasons:
        res["reason"] = [{"text": text} for text in reasons]
    if info.replaces is not None:
        before = info.replaces
        res["entity"] = [
            {
                "role": "revision",
                "what": {
                    "identifier": {
                        "system": ctx.codes.identifier_system("sha256"),
                        "value": before.sha256,
                    },
                    "display": f"{info.report_id} version {before.version} ({before.status})",
                },
            }
        ]
    return res


def report(ctx: Context, results: Sequence[str]) -> Json:
    codes = ctx.codes
    res: Json = {
        "resourceType": "DiagnosticReport",
        "id": ctx.ids.id("DiagnosticReport"),
        "meta": {"profile": [codes.profile("genomic_report")]},
        "language": ctx.language,
        "identifier": _report_identifiers(ctx),
        "status": ctx.report.status,
        "category": [codes.concept("category_genetics")],
        "code": codes.concept("report"),
        **_subject(ctx),
        "effectiveDateTime": ctx.reported_on,
        "specimen": [ctx.ids.ref("Specimen")],
        "result": [ctx.ids.ref(key) for key in results],
        "conclusion": "\n".join(conclusion_lines(ctx)),
        "conclusionCode": [
            {
                "coding": [_category_coding(ctx)],
                "text": ctx.t(ctx.assessment.overall.label),
            }
        ],
    }
    if service_request(ctx) is not None:
        res["basedOn"] = [ctx.ids.ref("ServiceRequest")]
    if ctx.report.lab is not None:
        res["performer"] = [ctx.ids.ref("Organization", ctx.report.lab.name)]
    if ctx.pdf is not None:
        res["presentedForm"] = [_presented_form(ctx, ctx.pdf)]
    return res


def provenance(ctx: Context, targets: Sequence[str]) -> Json:
    entities = []
    for item in ctx.assessment.provenance["inputs"]:
        role = str(item["role"])
        path = item.get("path")
        scheme, value = input_digest(item)
        entities.append(
            {
                "role": "source",
                "what": {
                    "identifier": {
                        "system": ctx.codes.identifier_system(
                            "sha256" if scheme == "sha256" else "region-sha256"
                        ),
                        "value": value,
                    },
                    "display": f"{role}: {path}" if path else role,
                },
            }
        )
    return {
        "resourceType": "Provenance",
        "id": ctx.ids.id("Provenance"),
        "target": [ctx.ids.ref(key) for key in targets],
        # An instant is required: the report date at 00:00 UTC (never the clock).
        "recorded": f"{ctx.reported_on}T00:00:00Z",
        "agent": [{"who": ctx.ids.ref("Device")}],
        "entity": entities,
    }
