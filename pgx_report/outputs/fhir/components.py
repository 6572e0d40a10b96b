"""Observation components and concepts shared by the FHIR resources (codes from the table)."""

from __future__ import annotations

from typing import Any

from pgx_report.contracts.call import Call
from pgx_report.outputs.fhir.codes import FhirCodes, Json
from pgx_report.outputs.fhir.context import Context, Site


def categories(codes: FhirCodes) -> list[Json]:
    return [codes.concept("category_laboratory"), codes.concept("category_genetics")]


def component(codes: FhirCodes, key: str, **value: Any) -> Json:
    return {"code": codes.concept(key), **value}


def cc_component(codes: FhirCodes, key: str, coding: Json, text: str | None = None) -> Json:
    concept: Json = {"coding": [coding]}
    if text:
        concept["text"] = text
    return component(codes, key, valueCodeableConcept=concept)


def local_component(codes: FhirCodes, concept_code: str, coding: Json) -> Json:
    return {
        "code": {"coding": [codes.local_coding("concepts", concept_code)]},
        "valueCodeableConcept": {"coding": [coding]},
    }


def site_components(codes: FhirCodes, site: Site) -> list[Json]:
    """Components shared by the Variant and Genotype observations (the gene and build)."""
    out = [cc_component(codes, "gene_studied", codes.coding("oprm1"))]
    if site.assembly_key:
        out.append(
            cc_component(codes, "reference_sequence_assembly", codes.coding(site.assembly_key))
        )
    return out


def hgvs_concept(codes: FhirCodes, expression: str) -> Json:
    return {"coding": [{"system": codes.system("hgvs"), "code": expression}], "text": expression}


def refseq_concept(codes: FhirCodes, accession: str) -> Json:
    return {"coding": [{"system": codes.system("refseq"), "code": accession}]}


def variant_components(codes: FhirCodes, site: Site) -> list[Json]:
    comps = site_components(codes, site)
    comps.append(cc_component(codes, "variation_code", codes.coding("rs1799971")))
    if site.hgvs_c:
        comps.append(
            component(codes, "coding_hgvs", valueCodeableConcept=hgvs_concept(codes, site.hgvs_c))
        )
        comps.append(
            component(
                codes,
                "transcript_ref_seq",
                valueCodeableConcept=refseq_concept(codes, site.hgvs_c.split(":", 1)[0]),
            )
        )
    if site.hgvs_p:
        comps.append(
            component(codes, "protein_hgvs", valueCodeableConcept=hgvs_concept(codes, site.hgvs_p))
        )
    ghgvs = site.ghgvs()
    if ghgvs and site.refseq_chr:
        comps.append(
            component(codes, "genomic_hgvs", valueCodeableConcept=hgvs_concept(codes, ghgvs))
        )
        comps.append(
            component(
                codes,
                "genomic_ref_seq",
                valueCodeableConcept=refseq_concept(codes, site.refseq_chr),
            )
        )
    if site.pos is not None:
        comps.append(
            component(
                codes,
                "exact_start_end",
                valueRange={"low": {"value": site.pos}, "high": {"value": site.pos}},
            )
        )
        comps.append(cc_component(codes, "coordinate_system", codes.coding("one_based")))
    comps.append(component(codes, "ref_allele", valueString=site.ref))
    comps.append(component(codes, "alt_allele", valueString=site.alt))
    comps.append(cc_component(codes, "genomic_source_class", codes.coding("germline")))
    return comps


def count_alt(ctx: Context, genotype: str) -> int:
    """How many copies of the alternative allele the diploid ``genotype`` has."""
    site = ctx.site
    alleles = genotype.split("/")
    if len(alleles) != 2 or any(a not in (site.ref, site.alt) for a in alleles):
        raise ctx.fail(
            "$.call.genotype",
            f"{genotype!r} is not a diploid genotype of {site.ref} and {site.alt}",
        )
    return alleles.count(site.alt)


def status_components(codes: FhirCodes, call: Call) -> list[Json]:
    """The call's status and each of its reason codes (with the call's sentence)."""
    status = call.status.value
    comps = [local_component(codes, "call-status", codes.local_coding("call-status", status))]
    reasons = call.reasons
    for i, code in enumerate(call.reason_codes):
        sentence = reasons[i] if i < len(reasons) else None
        comps.append(
            local_component(codes, "call-reason", codes.local_coding("call-reason", code, sentence))
        )
    return comps
