"""Every code, system, display, profile and extension we emit, against the IG's own package.

The reference is tests/data/fhir-ig/genomics-reporting-3.0.0.json, extracted by
scripts/extract_fhir_ig.py from the npm package ``hl7.fhir.uv.genomics-reporting`` 3.0.0
(README beside it: origin, licence, SHA-256 of the tarball). Offline: nothing is fetched.

Checked, for the bundles of the three contract fixtures and of every demo patient (made by
the real calling and assessment engine), and for every entry of fhir_codes.yaml:

* a coding in one of the IG's CodeSystems has a code that CodeSystem defines, with the
  IG's display, character for character;
* a coding in an external system (LOINC, HGNC, ...) has a code the IG's package uses (a
  profile's pattern, a ValueSet, an example), with a display the IG's examples use; a
  code the package does not carry must be in :data:`OUTSIDE_IG`, a short list that names
  where each was checked; the project's local code systems are out of scope here
  (docs/fhir.md lists them);
* every ``meta.profile`` is a StructureDefinition of the IG for that resource type, and
  the resource keeps that profile's fixed/pattern values (code, status, categories); each
  coded component is one of the profile's component slices;
* every extension URL is one the profile slices in (or an IG extension), and every
  sub-extension URL is one that extension defines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, DEMO_PATIENTS
from test_fhir import FIXTURES, PDF, load_fixture

from pgx_report.files.io import canonical_json
from pgx_report.outputs.fhir.bundle import build_bundle
from pgx_report.outputs.fhir.codes import load_codes

IG_PATH = Path(__file__).resolve().parent / "data" / "fhir-ig" / "genomics-reporting-3.0.0.json"
IG: dict[str, Any] = json.loads(IG_PATH.read_text(encoding="utf-8"))
IG_BASE = "http://hl7.org/fhir/uv/genomics-reporting"
CODES = load_codes()
LOCAL = CODES.local_base
LOINC = "http://loinc.org"

# Codes the IG package does not carry (neither a profile nor a ValueSet nor an example
# uses them), each with the display we write and where it was checked.
OUTSIDE_IG: dict[tuple[str, str], tuple[str, str]] = {
    (LOINC, "LA18198-4"): ("No call", "LOINC answer list LL1971-2 (Variant value binding)"),
    (LOINC, "LA9634-2"): ("Absent", "LOINC answer list LL1971-2"),
    (LOINC, "LA11884-6"): ("Indeterminate", "LOINC answer list LL1971-2"),
    (LOINC, "LA14029-5"): ("GRCh37", "LOINC answer list LL1040-6"),
    ("http://www.whocc.no/atc", "N07BB04"): ("naltrexone", "WHO ATC/DDD index, N07BB04"),
}

# External systems whose codes are identifiers rather than a closed list: the system must
# be one the IG uses; the code is the identifier itself (display = the identifier's name).
IDENTIFIER_SYSTEMS = {
    "http://www.genenames.org",
    "http://www.ncbi.nlm.nih.gov/projects/SNP",
    "http://varnomen.hgvs.org",
    "http://www.ncbi.nlm.nih.gov/refseq",
}
# LOINC codes whose display in the IG's examples is LOINC's short name, where we write the
# LOINC Long Common Name (the display LOINC's own FHIR CodeSystem gives; both are valid
# LOINC designations): code -> (our display, the IG examples' display).
LOINC_LONG_NAMES: dict[str, tuple[str, str]] = {
    "92822-6": ("Genomic coordinate system [Type]", "Genomic coord system"),
    "51963-7": ("Medication assessed [ID]", "Medication assessed"),
}

# Identifier systems of the FHIR core, used outside any coding.
CORE_SYSTEMS = {"urn:ietf:rfc:3986"}


# ------------------------------------------------------------------------- the bundles


def _demo_bundles() -> dict[str, dict[str, Any]]:
    from pgx_report.pipeline import ReportSettings, assess_call, call_input

    out = {}
    for name, (vcf, vcf_sample) in sorted(DEMO_PATIENTS.items()):
        call = call_input(DEMO / "vcfs" / vcf, sample=vcf_sample)
        call_bytes = canonical_json(call.to_dict()).encode("utf-8")
        questionnaire = DEMO / "questionnaires" / f"{name}.json"
        assessment = assess_call(
            call, call_bytes, f"{name}.call.json", questionnaire, ReportSettings()
        )
        out[f"demo:{name}"] = build_bundle(assessment, PDF)
    return out


@pytest.fixture(scope="module")
def bundles() -> dict[str, dict[str, Any]]:
    out = {f"fixture:{name}": build_bundle(load_fixture(name), PDF) for name in sorted(FIXTURES)}
    out.update(_demo_bundles())
    return out


# ------------------------------------------------------------------------- the IG's word


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _ig_codes() -> dict[tuple[str, str], set[str]]:
    """(system, code) -> the displays the IG gives it (empty: code used without a display)."""
    known: dict[tuple[str, str], set[str]] = {}
    for sd in IG["structure_definitions"].values():
        for node in _walk(sd["constraints"]):
            if isinstance(node, dict) and "system" in node and "code" in node:
                known.setdefault((node["system"], node["code"]), set())
    for vs in IG["value_sets"].values():
        for include in vs["include"]:
            for concept in include.get("concept", []):
                shown = known.setdefault((include["system"], concept["code"]), set())
                if "display" in concept:
                    shown.add(concept["display"])
    for system, codes in IG["example_codings"].items():
        for code, displays in codes.items():
            known.setdefault((system, code), set()).update(displays)
    return known


IG_CODES = _ig_codes()
IG_SYSTEMS = (
    {system for system, _ in IG_CODES}
    | {
        inc["system"]
        for vs in IG["value_sets"].values()
        for inc in vs["include"]
        if "system" in inc
    }
    | set(IG["code_systems"])
)


def coding_problem(coding: dict[str, Any]) -> str | None:
    """What is wrong with one coding against the IG (None: nothing)."""
    system, code, display = coding["system"], str(coding["code"]), coding.get("display")
    if system.startswith(LOCAL + "/") or system in CORE_SYSTEMS:
        return None
    label = f"{system}#{code} {display!r}"
    if system in IG["code_systems"]:
        defined = IG["code_systems"][system]["codes"]
        if code not in defined:
            return f"{label}: no such code in the IG's CodeSystem"
        if display is not None and display != defined[code]:
            return f"{label}: the IG's display is {defined[code]!r}"
        return None
    if (system, code) in OUTSIDE_IG:
        expected = OUTSIDE_IG[(system, code)][0]
        return None if display in (None, expected) else f"{label}: documented as {expected!r}"
    if system not in IG_SYSTEMS:
        return f"{label}: a system the IG does not use"
    if system in IDENTIFIER_SYSTEMS:
        return None
    if (system, code) not in IG_CODES:
        return f"{label}: a code the IG's package does not carry (add it to OUTSIDE_IG?)"
    # the IG examples write "Present" and "present": letter case is not held against us
    displays = {shown.casefold() for shown in IG_CODES[(system, code)]}
    if system == LOINC and code in LOINC_LONG_NAMES:
        ours, theirs = LOINC_LONG_NAMES[code]
        if theirs.casefold() in displays and display == ours:
            return None
    if display is not None and displays and display.casefold() not in displays:
        return f"{label}: the IG writes {sorted(displays)}"
    return None


def _codings(node: Any) -> Iterator[dict[str, Any]]:
    for item in _walk(node):
        if isinstance(item, dict) and isinstance(item.get("system"), str) and "code" in item:
            yield item


def _profiled(bundle: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for url in resource.get("meta", {}).get("profile", []):
            yield resource, IG["structure_definitions"].get(url, {"url": url})


def _matches(pattern: dict[str, Any], coding: dict[str, Any]) -> bool:
    return all(coding.get(key) == value for key, value in pattern.items())


def _has_pattern_codings(concepts: list[dict[str, Any]], pattern: dict[str, Any]) -> bool:
    """A CodeableConcept among ``concepts`` carries every coding of ``pattern``."""
    for concept in concepts:
        ours = concept.get("coding", [])
        if all(any(_matches(p, c) for c in ours) for p in pattern.get("coding", [])):
            return True
    return False


def profile_problems(resource: dict[str, Any], sd: dict[str, Any]) -> list[str]:
    kind = resource["resourceType"]
    if "type" not in sd:
        return [f"{kind}: {sd['url']} is not a StructureDefinition of the IG"]
    if sd["type"] != kind:
        return [f"{kind}: profile {sd['id']} is for {sd['type']}"]
    problems = []
    slices: list[dict[str, Any]] = []
    for item in sd["constraints"]:
        eid = item["id"]
        if eid == f"{kind}.code" and "patternCodeableConcept" in item:
            if not _has_pattern_codings([resource.get("code", {})], item["patternCodeableConcept"]):
                problems.append(f"{kind} {sd['id']}: code is not {item['patternCodeableConcept']}")
        elif eid == f"{kind}.status" and "patternCode" in item:
            if resource.get("status") != item["patternCode"]:
                problems.append(f"{kind} {sd['id']}: status must be {item['patternCode']}")
        elif eid.startswith(f"{kind}.category") and "patternCoding" in item:
            categories = resource.get("category", [])
            categories = categories if isinstance(categories, list) else [categories]
            pattern = {"coding": [item["patternCoding"]]}
            if not _has_pattern_codings(categories, pattern):
                problems.append(f"{kind} {sd['id']}: no category {item['patternCoding']}")
        elif eid.startswith(f"{kind}.component:") and eid.endswith(".code"):
            slices.extend(item.get("patternCodeableConcept", {}).get("coding", []))
    for comp in resource.get("component", []):
        ours = [c for c in comp["code"].get("coding", []) if not c["system"].startswith(LOCAL)]
        if ours and not any(_matches(p, c) for p in slices for c in ours):
            problems.append(f"{kind} {sd['id']}: component {ours} is no slice of the profile")
    return problems


def extension_problems(resource: dict[str, Any], sds: list[dict[str, Any]]) -> list[str]:
    allowed = {
        url for sd in sds for urls in sd.get("extension_slices", {}).values() for url in urls
    }
    problems = []
    for node in _walk({k: v for k, v in resource.items() if k != "contained"}):
        if not isinstance(node, dict):
            continue
        for ext in node.get("extension", []):
            url = ext["url"]
            if "://" not in url:
                continue  # a sub-extension: checked against its parent below
            sd = IG["structure_definitions"].get(url)
            if url not in allowed and not (sd and sd["type"] == "Extension"):
                problems.append(f"{resource['resourceType']}: extension {url} not in its profile")
            if sd and sd["type"] == "Extension":
                subs = set(sd.get("sub_extension_urls", []))
                for sub in ext.get("extension", []):
                    if sub["url"] not in subs:
                        problems.append(f"{url}: no sub-extension {sub['url']!r}")
    return problems


# ------------------------------------------------------------------------- the tests


def test_the_extract_is_the_3_0_0_package() -> None:
    package = IG["package"]
    assert package["packageId"] == "hl7.fhir.uv.genomics-reporting"
    assert package["version"] == "3.0.0"
    assert package["license"] == "CC0-1.0"
    readme = (IG_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert package["tarball_sha256"] in readme


def test_conclusion_string_display_is_the_igs() -> None:
    cs = IG["code_systems"][f"{IG_BASE}/CodeSystem/tbd-codes-cs"]["codes"]
    assert CODES.coding("conclusion_string")["display"] == cs["conclusion-string"]
    assert cs["conclusion-string"] == "Conclusion Text"


@pytest.mark.parametrize("key", sorted(CODES.data["codes"]))
def test_every_code_table_entry_agrees_with_the_ig(key: str) -> None:
    assert coding_problem(CODES.coding(key)) is None


def test_every_profile_and_extension_url_of_the_table_is_in_the_ig() -> None:
    for entry in CODES.data["profiles"].values():
        assert entry["url"] in IG["structure_definitions"], entry["url"]


def test_every_emitted_coding_agrees_with_the_ig(bundles: dict[str, dict[str, Any]]) -> None:
    problems = {
        f"{name}: {problem}"
        for name, bundle in bundles.items()
        for coding in _codings(bundle)
        if (problem := coding_problem(coding))
    }
    assert not problems, "\n".join(sorted(problems))


def test_every_profiled_resource_keeps_its_profiles_patterns(
    bundles: dict[str, dict[str, Any]],
) -> None:
    problems = {
        f"{name}: {problem}"
        for name, bundle in bundles.items()
        for resource, sd in _profiled(bundle)
        for problem in profile_problems(resource, sd)
    }
    assert not problems, "\n".join(sorted(problems))


def test_every_extension_is_one_the_ig_allows(bundles: dict[str, dict[str, Any]]) -> None:
    problems = set()
    for name, bundle in bundles.items():
        for entry in bundle["entry"]:
            resource = entry["resource"]
            sds = [
                IG["structure_definitions"].get(url, {})
                for url in resource.get("meta", {}).get("profile", [])
            ]
            problems.update(f"{name}: {p}" for p in extension_problems(resource, sds))
    assert not problems, "\n".join(sorted(problems))


def test_the_checker_catches_a_wrong_display() -> None:
    wrong = {**CODES.coding("conclusion_string"), "display": "Clinical Conclusion"}
    assert "Conclusion Text" in (coding_problem(wrong) or "")
    assert coding_problem({"system": LOINC, "code": "00000-0"}) is not None
    assert coding_problem({"system": "http://example.invalid", "code": "x"}) is not None


def _regions(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    analyses = [
        entry["resource"]
        for entry in bundle["entry"]
        if f"{IG_BASE}/StructureDefinition/genomic-study-analysis"
        in entry["resource"].get("meta", {}).get("profile", [])
    ]
    assert len(analyses) == 1
    (regions,) = [e for e in analyses[0]["extension"] if e["url"].endswith("-regions")]
    out: dict[str, list[dict[str, Any]]] = {}
    for sub in regions["extension"]:
        out.setdefault(sub["url"], []).append(sub)
    return out


@pytest.mark.parametrize(
    ("name", "outcome"), [("called", "called"), ("not_determined", "uncalled")]
)
def test_the_site_is_studied_then_called_or_uncalled(name: str, outcome: str) -> None:
    bundle = build_bundle(load_fixture(name), PDF)
    regions = _regions(bundle)
    assert set(regions) == {"description", "studied", outcome}
    studied = regions["studied"][0]["valueCodeableConcept"]
    assert studied["coding"][0]["code"] == "HGNC:8156"
    assert "rs1799971" in studied["text"]
    report = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    study_refs = [e for e in report["extension"] if e["url"].endswith("/genomic-study-reference")]
    assert len(study_refs) == 1
