"""Plate QC and calls: a parsed plate + the lab's assay map -> one :class:`Call` per sample.

Rules (docs/targeted.md), per assay defined for rs1799971:

* An NTC well with a genotype call: every sample of that assay fails (NTC_AMPLIFIED).
* A positive control (Task PC_ALLELE_1 / PC_ALLELE_2 / PC_ALLELE_BOTH, or a sample named
  under ``controls`` in the assay map) whose call is not the expected genotype: every
  sample of that assay fails (POSITIVE_CONTROL_FAILED).
* Omitted wells are ignored (all of a sample's wells omitted: WELLS_OMITTED).
* A sample's wells must agree (else REPLICATE_DISCORDANT); a no-call word from the
  instrument (Undetermined, No Amp, Invalid, ...) is ASSAY_UNDETERMINED, the word kept
  in ``gt``; a well below ``min_quality`` Quality(%) (or without one) is LOW_ASSAY_QUALITY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgx_report import __version__
from pgx_report.contracts.call import Call, Reason, status_for
from pgx_report.errors import InputError, UnknownSampleError
from pgx_report.genotype.plate import DEFAULT_MIN_QUALITY
from pgx_report.genotype.plate.assays import AssayDefinition, AssayMap
from pgx_report.genotype.plate.quantstudio import AssaySetup, Plate, Well
from pgx_report.genotype.site import Build, rs1799971

SENTENCES: dict[Reason, str] = {
    Reason.NTC_AMPLIFIED: "a no-template control of the assay has an allele call (contamination)",
    Reason.POSITIVE_CONTROL_FAILED: (
        "a positive control of the assay did not give its expected call"
    ),
    Reason.REPLICATE_DISCORDANT: "the sample's replicate wells disagree",
    Reason.ASSAY_UNDETERMINED: "the instrument gave no genotype for the sample",
    Reason.WELLS_OMITTED: "every well of the sample is omitted on the plate",
    Reason.LOW_ASSAY_QUALITY: "a well's call quality is below the threshold",
}
_EXPECTED = {"PC_ALLELE_1": (1, 1), "PC_ALLELE_2": (2, 2), "PC_ALLELE_BOTH": (1, 2)}


@dataclass(frozen=True)
class PlateSettings:
    min_quality: float = DEFAULT_MIN_QUALITY


def _genotype(well: Well, definition: AssayDefinition) -> str | None:
    if well.alleles is None:
        return None
    bases = sorted(definition.alleles[name] for name in well.alleles)
    return "/".join(bases)


def _expected(well: Well, setup: AssaySetup, definition: AssayDefinition) -> str | None:
    if well.task in _EXPECTED:
        names = [setup.allele1 if i == 1 else setup.allele2 for i in _EXPECTED[well.task]]
        return "/".join(sorted(definition.alleles[name] for name in names))
    if well.task == "UNKNOWN":
        return definition.controls.get(well.sample)
    return None


def assay_controls(plate: Plate, setup: AssaySetup, definition: AssayDefinition) -> dict[str, Any]:
    """The assay's control results on the plate (the call's ``qc.assays[].controls``)."""
    ntc, positive = [], []
    for well in plate.wells:
        if well.assay != setup.name or well.omitted:
            continue
        if well.task == "NTC":
            ntc.append(
                {
                    "position": well.position,
                    "sample": well.sample,
                    "call": well.call,
                    "amplified": well.alleles is not None,
                }
            )
            continue
        expected = _expected(well, setup, definition)
        if expected is not None:
            observed = _genotype(well, definition)
            positive.append(
                {
                    "position": well.position,
                    "sample": well.sample,
                    "task": well.task,
                    "call": well.call,
                    "expected": expected,
                    "observed": observed,
                    "passed": observed == expected,
                }
            )
    passed = not any(n["amplified"] for n in ntc) and all(p["passed"] for p in positive)
    return {"passed": passed, "ntc": ntc, "positive": positive}


def _definitions(plate: Plate, assays: AssayMap) -> dict[str, AssayDefinition]:
    """The plate's rs1799971 assays; an assay neither defined nor ignored is exit 2."""
    found = {}
    for name, setup in sorted(plate.assays.items()):
        if name in assays.ignore:
            continue
        definition = assays.assays.get(name)
        if definition is None:
            raise InputError(
                plate.path,
                f"assay {name!r} is not defined in {assays.path.name} "
                "(add it under 'assays', or list it under 'ignore')",
            )
        names = sorted(definition.alleles)
        if names != sorted((setup.allele1, setup.allele2)):
            raise InputError(
                assays.path,
                f"$.assays.{name}.alleles: {names} are not the plate's "
                f"allele names {setup.allele1!r}, {setup.allele2!r}",
            )
        found[name] = definition
    if not found:
        raise InputError(plate.path, "no assay on the plate is defined for rs1799971")
    return found


def _provenance(plate: Plate, assays: AssayMap, settings: PlateSettings) -> dict[str, Any]:
    header = plate.header
    return {
        "tool": "pgx-report",
        "tool_version": __version__,
        "genotype_source": "targeted_assay",
        "input": {
            "path": plate.path.name,
            "sha256": plate.sha256,
            "format": "quantstudio",
            "index": "none",
        },
        "instrument": {
            "type": header.get("Instrument Type"),
            "name": header.get("Instrument Name"),
            "serial_number": header.get("Instrument Serial Number"),
        },
        "run_end_time": header.get("Experiment Run End Time"),
        "experiment_name": header.get("Experiment Name"),
        "assays": {"path": assays.path.name, "sha256": assays.sha256},
        "thresholds": {"min_quality": settings.min_quality},
    }


def _well_dict(well: Well, definition: AssayDefinition) -> dict[str, Any]:
    return {
        "assay": well.assay,
        "well": well.well,
        "position": well.position,
        "task": well.task,
        "call": well.call,
        "genotype": _genotype(well, definition),
        "allele1_delta_rn": well.allele1_delta_rn,
        "allele2_delta_rn": well.allele2_delta_rn,
        "allele1_ct": well.allele1_ct,
        "allele2_ct": well.allele2_ct,
        "quality": well.quality,
    }


def _codes(
    used: Sequence[dict[str, Any]], controls: Sequence[Mapping[str, Any]], min_quality: float
) -> list[Reason]:
    codes: list[Reason] = []
    if any(any(n["amplified"] for n in c["ntc"]) for c in controls):
        codes.append(Reason.NTC_AMPLIFIED)
    if any(not all(p["passed"] for p in c["positive"]) for c in controls):
        codes.append(Reason.POSITIVE_CONTROL_FAILED)
    if not used:
        return [*codes, Reason.WELLS_OMITTED]
    outcomes = {w["genotype"] or w["call"].casefold() for w in used}
    if len(outcomes) > 1:
        codes.append(Reason.REPLICATE_DISCORDANT)
    elif used[0]["genotype"] is None:
        codes.append(Reason.ASSAY_UNDETERMINED)
    if any(w["quality"] is None or w["quality"] < min_quality for w in used):
        codes.append(Reason.LOW_ASSAY_QUALITY)
    return codes


def _sample_call(
    sample: str,
    wells: Sequence[Well],
    plate: Plate,
    definitions: Mapping[str, AssayDefinition],
    context: dict[str, Any],
) -> Call:
    settings: PlateSettings = context["settings"]
    names = sorted({w.assay for w in wells})
    used = [_well_dict(w, definitions[w.assay]) for w in wells if not w.omitted]
    controls = [context["controls"][name] for name in names]
    codes = _codes(used, controls, settings.min_quality)
    status = status_for(codes)
    calls = list(dict.fromkeys(w["call"] for w in used))
    genotype = used[0]["genotype"] if status.value == "called" else None
    assays_qc = [
        {
            "name": n,
            "site": definitions[n].site,
            "alleles": dict(definitions[n].alleles),
            "reporters": {
                plate.assays[n].allele1: plate.assays[n].reporter1,
                plate.assays[n].allele2: plate.assays[n].reporter2,
            },
            "controls": context["controls"][n],
        }
        for n in names
    ]
    qc = {
        "source": "targeted_assay",
        "record": None,
        "depth": None,
        "gq": None,
        "allele_depths": None,
        "allele_balance": None,
        "filter": None,
        "qual": None,
        "phased": False,
        "assays": assays_qc,
        "wells": used,
        "omitted_wells": [w.position for w in wells if w.omitted],
    }
    return Call(
        sample=sample,
        variant=context["variant"],
        status=status,
        genotype=genotype,
        carrier=None if genotype is None else "G" in genotype,
        gt=" | ".join(calls) if calls else None,
        reason_codes=tuple(c.value for c in codes),
        reasons=tuple(SENTENCES[c] for c in codes),
        qc=qc,
        provenance=context["provenance"],
    )


def call_plate(
    plate: Plate, assays: AssayMap, settings: PlateSettings | None = None, sample: str | None = None
) -> list[Call]:
    """The calls of every sample on the plate's rs1799971 assays (Task UNKNOWN wells: NTC
    and PC_* wells are the plate's controls),
    or of ``sample`` alone (UnknownSampleError if it has no well there)."""
    settings = settings or PlateSettings()
    definitions = _definitions(plate, assays)
    if settings.min_quality > 0 and not plate.has_quality:
        raise InputError(plate.path, "[Results] has no Quality(%) column (or pass --min-quality 0)")
    context = {
        "settings": settings,
        "variant": rs1799971().describe(Build.GRCh38, "chr6"),
        "provenance": _provenance(plate, assays, settings),
        "controls": {n: assay_controls(plate, plate.assays[n], d) for n, d in definitions.items()},
    }
    by_sample: dict[str, list[Well]] = {}
    for well in plate.wells:
        if well.assay in definitions and well.task == "UNKNOWN" and well.sample:
            by_sample.setdefault(well.sample, []).append(well)
    if sample is not None:
        if sample not in by_sample:
            known = ", ".join(sorted(by_sample)[:10])
            raise UnknownSampleError(
                plate.path, f"sample {sample!r} is not on the plate (it has: {known})"
            )
        by_sample = {sample: by_sample[sample]}
    return [_sample_call(s, w, plate, definitions, context) for s, w in by_sample.items()]


def plate_summary(plate: Plate, assays: AssayMap) -> list[dict[str, Any]]:
    """Per rs1799971 assay: its control results (for the batch summary)."""
    definitions = _definitions(plate, assays)
    return [
        {"assay": n, **assay_controls(plate, plate.assays[n], d)} for n, d in definitions.items()
    ]
