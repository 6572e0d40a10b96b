"""GenomicStudy and GenomicStudyAnalysis (IG 3.0.0 Procedure profiles): what was examined.

The analysis's ``regions`` extension says the site was studied, and then either called or
uncalled: a not-determined site is stated as examined but not callable, the way IG 3.0.0
allows (its RegionStudied profile was retired in STU3). The region is the gene's HGNC
code (the extension's binding) with text naming the one targeted site.
"""

from __future__ import annotations

from pgx_report.outputs.fhir.codes import Json
from pgx_report.outputs.fhir.context import Context

STUDY = "Procedure/genomic-study"
ANALYSIS = "Procedure/genomic-study-analysis"


def _region(ctx: Context) -> Json:
    site = ctx.site
    return {
        "coding": [ctx.codes.coding("oprm1")],
        "text": f"{site.gene} {site.rsid} ({site.hgvs_c}) only: one targeted site",
    }


def _regions(ctx: Context) -> Json:
    outcome = "called" if ctx.genotype is not None else "uncalled"
    return {
        "url": ctx.codes.extension("analysis_regions"),
        "extension": [
            {"url": "description", "valueString": f"{ctx.site.gene} {ctx.site.rsid}"},
            {"url": "studied", "valueCodeableConcept": _region(ctx)},
            {"url": outcome, "valueCodeableConcept": _region(ctx)},
        ],
    }


def _procedure(ctx: Context, key: str, profile: str) -> Json:
    return {
        "resourceType": "Procedure",
        "id": ctx.ids.id(key),
        "meta": {"profile": [ctx.codes.profile(profile)]},
        "status": "completed",
        "category": ctx.codes.concept("category_laboratory"),
        "subject": ctx.ids.ref("Patient"),
    }


def analysis(ctx: Context) -> Json:
    res = _procedure(ctx, ANALYSIS, "genomic_study_analysis")
    extensions: list[Json] = []
    if ctx.site.assembly_key is not None:
        extensions.append(
            {
                "url": ctx.codes.extension("analysis_genome_build"),
                "valueCodeableConcept": ctx.codes.concept(ctx.site.assembly_key),
            }
        )
    extensions.append(_regions(ctx))
    res["extension"] = extensions
    notes = list(ctx.call.reasons)
    if ctx.genotype is None:
        notes.insert(0, f"{ctx.site.gene} {ctx.site.rsid} was examined but not callable.")
    if notes:
        res["note"] = [{"text": note} for note in notes]
    return res


def study(ctx: Context) -> Json:
    res = _procedure(ctx, STUDY, "genomic_study")
    res["extension"] = [
        {
            "url": ctx.codes.extension("genomic_study_analysis_ext"),
            "valueReference": ctx.ids.ref(ANALYSIS),
        }
    ]
    res["code"] = ctx.codes.concept("study_type_snp")
    return res


def entries(ctx: Context) -> list[tuple[str, Json]]:
    """The study and its analysis, keyed as the bundle's other entries."""
    return [(STUDY, study(ctx)), (ANALYSIS, analysis(ctx))]


def report_extension(ctx: Context) -> Json:
    """DiagnosticReport.extension[genomic-study]: the report names the study."""
    return {
        "url": ctx.codes.extension("genomic_study_reference"),
        "valueReference": ctx.ids.ref(STUDY),
    }
