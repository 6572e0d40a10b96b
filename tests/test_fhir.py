"""FHIR export: Genomics Reporting STU3 bundle from an assessment (``pgx-report fhir``).

Every bundle is parsed with the fhir.resources R4B models, every reference must resolve
inside the bundle, and every code must come from pgx_report/data/fhir_codes.yaml.
The fixtures tests/data/fhir_assessment_*.json follow docs/contracts.md exactly.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT
from fhir.resources.R4B.bundle import Bundle

from pgx_report.errors import InputError
from pgx_report.files.io import canonical_json
from pgx_report.outputs.fhir.bundle import build_bundle
from pgx_report.outputs.fhir.codes import CODES_PATH, load_codes

# ---------------------------------------------------------------------- helpers

DATA = Path(__file__).resolve().parent / "data"
FIXTURES = {
    "called": DATA / "fhir_assessment_called.json",
    "not_determined": DATA / "fhir_assessment_nd.json",
    "contraindicated": DATA / "fhir_assessment_contraindicated.json",
}


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURES[name].read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def validate(bundle: dict[str, Any]) -> Bundle:
    """Parse with the fhir.resources R4B models (raises on any structural error)."""
    return Bundle.model_validate(bundle)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) pair in a JSON tree."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def references(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (path, node["reference"])
        for path, node in walk(bundle)
        if isinstance(node, dict) and isinstance(node.get("reference"), str)
    ]


def unresolved_references(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    return [(path, ref) for path, ref in references(bundle) if ref not in full_urls]


def codings(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        node
        for _, node in walk(bundle)
        if isinstance(node, dict) and "system" in node and "code" in node
    ]


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def by_profile(bundle: dict[str, Any], profile_id: str) -> list[dict[str, Any]]:
    suffix = f"/StructureDefinition/{profile_id}"
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if any(p.endswith(suffix) for p in entry["resource"].get("meta", {}).get("profile", []))
    ]


def one(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


def component(resource: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """Components whose code has a coding with this code."""
    return [
        comp
        for comp in resource.get("component", [])
        if any(c.get("code") == code for c in comp["code"]["coding"])
    ]


def value_codes(comp: dict[str, Any]) -> list[str]:
    return [c["code"] for c in comp["valueCodeableConcept"].get("coding", [])]


def bundle_of(name: str, pdf: bytes | None = None, **changes: Any) -> dict[str, Any]:
    assessment = load_fixture(name)
    assessment.update(changes)
    return build_bundle(assessment, pdf)


CODES = load_codes()
LOCAL = CODES.local_base
PDF = b"%PDF-1.7\n% tiny stand-in for a rendered report\n%%EOF\n"


# ---------------------------------------------------------------- every fixture


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("pdf", [None, PDF], ids=["no-pdf", "pdf"])
def test_bundle_parses_with_fhir_resources_r4b(name: str, pdf: bytes | None) -> None:
    bundle = bundle_of(name, pdf)
    parsed = validate(bundle)
    assert parsed.type == "collection"
    assert len(parsed.entry) == len(bundle["entry"])
    # the R4B model's own JSON keeps every resource (nothing silently dropped)
    assert {e.resource.get_resource_type() for e in parsed.entry} >= {
        "DiagnosticReport",
        "Patient",
        "Specimen",
        "Observation",
        "Device",
        "Provenance",
    }


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_reference_resolves_inside_the_bundle(name: str) -> None:
    bundle = bundle_of(name, PDF)
    refs = references(bundle)
    assert len(refs) >= 10
    assert unresolved_references(bundle) == []
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_same_inputs_give_identical_bytes(name: str) -> None:
    first = canonical_json(bundle_of(name, PDF))
    second = canonical_json(build_bundle(json.loads(FIXTURES[name].read_text()), PDF))
    assert first == second
    assert first.encode() == canonical_json(bundle_of(name, PDF)).encode()


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_code_comes_from_the_code_table(name: str) -> None:
    """No code is made up: standard codings are listed in fhir_codes.yaml, the rest are
    local (project URL) or HGVS / RefSeq expressions derived from the call."""
    table = {
        (CODES.system(entry["system"]), str(entry["code"]))
        for entry in CODES.data["codes"].values()
    }
    derived = {CODES.system("hgvs"), CODES.system("refseq")}
    seen_local = set()
    for coding in codings(bundle_of(name, PDF)):
        system, code = coding["system"], coding["code"]
        if system.startswith(LOCAL + "/"):
            seen_local.add(system.rsplit("/", 1)[1])
        elif system in derived:
            assert code.startswith(("NC_0000", "NM_", "NP_")), coding
        else:
            assert (system, code) in table, coding
    assert {"call-status", "overall-category", "evidence-level", "confidence"} <= seen_local


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_report_structure_and_provenance(name: str) -> None:
    assessment = load_fixture(name)
    bundle = build_bundle(assessment, PDF)
    report = one(resources(bundle, "DiagnosticReport"))
    assert report["meta"]["profile"] == [
        "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genomic-report"
    ]
    assert report["code"]["coding"][0]["code"] == "51969-4"
    assert report["category"][0]["coding"][0]["code"] == "GE"
    assert report["language"] == assessment["language"]
    assert report["effectiveDateTime"] == assessment["dates"]["reported_on"]
    # results: every Observation of the bundle, nothing else
    observation_urls = {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    }
    assert {r["reference"] for r in report["result"]} == observation_urls
    # the not-validated notice is always said
    notice = assessment["overall"]["not_validated_notice"][assessment["language"]]
    assert notice in report["conclusion"]
    implication = one(by_profile(bundle, "therapeutic-implication"))
    assert notice in one(component(implication, "conclusion-string"))["valueString"]
    # provenance: every input's SHA-256, the device with tool and knowledge-base versions
    provenance = one(resources(bundle, "Provenance"))
    hashes = {e["what"]["identifier"]["value"] for e in provenance["entity"]}
    assert hashes == {i["sha256"] for i in assessment["provenance"]["inputs"]}
    assert all(
        e["what"]["identifier"]["system"] == f"{LOCAL}/NamingSystem/input-sha256"
        for e in provenance["entity"]
    )
    assert provenance["recorded"] == f"{assessment['dates']['reported_on']}T00:00:00Z"
    targets = {t["reference"] for t in provenance["target"]}
    assert report["id"] in {t.removeprefix("urn:uuid:") for t in targets}
    assert observation_urls <= targets
    device = one(resources(bundle, "Device"))
    versions = {v["type"]["text"]: v["value"] for v in device["version"]}
    assert versions == {
        "tool": assessment["provenance"]["tool_version"],
        "knowledge base": assessment["provenance"]["knowledge_base_version"],
    }
    props = {p["type"]["text"]: p for p in device["property"]}
    assert props["min_depth"]["valueQuantity"] == [{"value": 10}]
    assert props["allow_sample_mismatch"]["valueCode"] == [{"text": "false"}]
    # patient and specimen from the questionnaire
    patient = one(resources(bundle, "Patient"))
    assert patient["identifier"] == [
        {"system": f"{LOCAL}/NamingSystem/patient-id", "value": assessment["patient"]["id"]}
    ]
    specimen = one(resources(bundle, "Specimen"))
    assert specimen["identifier"][0]["value"] == assessment["sample_id"]
    assert specimen["subject"]["reference"] == f"urn:uuid:{patient['id']}"


# ---------------------------------------------------------------- called genotypes


@pytest.mark.parametrize(
    ("genotype", "answer", "allelic_state", "hgvs"),
    [
        ("A/A", "LA9634-2", None, "NC_000006.12:g.[154039662=];[154039662=]"),
        ("A/G", "LA9633-4", "LA6706-1", "NC_000006.12:g.[154039662A>G];[154039662=]"),
        ("G/G", "LA9633-4", "LA6705-3", "NC_000006.12:g.[154039662A>G];[154039662A>G]"),
    ],
)
def test_called_genotype(genotype: str, answer: str, allelic_state: str | None, hgvs: str) -> None:
    assessment = load_fixture("called")
    assessment["call"]["genotype"] = genotype
    bundle = build_bundle(assessment)
    validate(bundle)
    variant = one(by_profile(bundle, "variant"))
    assert variant["code"]["coding"][0]["code"] == "69548-6"
    assert value_codes(variant) == [answer]
    states = component(variant, "53034-5")
    assert [value_codes(c) for c in states] == ([[allelic_state]] if allelic_state else [])
    assert value_codes(one(component(variant, "48018-6"))) == ["HGNC:8156"]
    assert value_codes(one(component(variant, "81252-9"))) == ["rs1799971"]
    assert value_codes(one(component(variant, "48004-6"))) == ["NM_000914.5:c.118A>G"]
    assert value_codes(one(component(variant, "48005-3"))) == ["NP_000905.3:p.Asn40Asp"]
    assert value_codes(one(component(variant, "81290-9"))) == ["NC_000006.12:g.154039662A>G"]
    assert value_codes(one(component(variant, "62374-4"))) == ["LA26806-2"]
    assert one(component(variant, "81254-5"))["valueRange"]["low"]["value"] == 154039662
    assert value_codes(one(component(variant, "call-status"))) == ["called"]
    geno = one(by_profile(bundle, "genotype"))
    assert geno["code"]["coding"][0]["code"] == "84413-4"
    assert geno["valueCodeableConcept"]["text"] == f"OPRM1 rs1799971 {genotype}"
    assert value_codes(geno) == [hgvs]
    assert geno["derivedFrom"] == [{"reference": f"urn:uuid:{variant['id']}"}]
    implication = one(by_profile(bundle, "therapeutic-implication"))
    assert [d["reference"] for d in implication["derivedFrom"]] == [
        f"urn:uuid:{geno['id']}",
        f"urn:uuid:{variant['id']}",
    ]


def test_called_grch37_uses_the_grch37_accession_and_assembly() -> None:
    assessment = load_fixture("called")
    assessment["call"]["variant"].update({"build": "GRCh37", "chrom": "6", "pos": 154360797})
    bundle = build_bundle(assessment)
    variant = one(by_profile(bundle, "variant"))
    assert value_codes(one(component(variant, "62374-4"))) == ["LA14029-5"]
    assert value_codes(one(component(variant, "81290-9"))) == ["NC_000006.11:g.154360797A>G"]
    assert value_codes(one(component(variant, "48013-7"))) == ["NC_000006.11"]


def test_therapeutic_implication_carries_category_drug_evidence_and_citations() -> None:
    assessment = load_fixture("called")
    bundle = build_bundle(assessment)
    implication = one(by_profile(bundle, "therapeutic-implication"))
    assert implication["code"]["coding"][0]["code"] == "therapeutic-implication"
    category = one(component(implication, "therapeutic-implication"))
    assert category["valueCodeableConcept"]["coding"] == [
        {
            "system": f"{LOCAL}/CodeSystem/overall-category",
            "code": "several_favourable_features",
            "display": "Several features linked to larger benefit in studies",
        }
    ]
    assert category["valueCodeableConcept"]["text"] == assessment["overall"]["label"]["nb"]
    drug = one(component(implication, "51963-7"))
    assert value_codes(drug) == ["N07BB04"]
    assert drug["valueCodeableConcept"]["text"] == "naltrekson"
    # the evidence level is the genotype factor's, as strong as it is and no stronger
    assert value_codes(one(component(implication, "93044-6"))) == ["mixed"]
    assert value_codes(one(component(implication, "overall-confidence"))) == ["moderate"]
    citations = [
        e["valueRelatedArtifact"]
        for e in implication["extension"]
        if e["url"] == "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact"
    ]
    assert [c["label"] for c in citations] == [str(r["number"]) for r in assessment["references"]]
    assert citations[0]["citation"] == assessment["references"][0]["text"]
    assert all(c["type"] == "citation" for c in citations)
    # each of the six predictors is in the notes, in the report's language
    notes = [n["text"] for n in implication["note"]]
    for factor in assessment["factors"]:
        assert any(n.startswith(factor["label"]["nb"] + ": ") for n in notes), factor["id"]
    assert resources(bundle, "DetectedIssue") == []


# ---------------------------------------------------------------- not determined


def test_not_determined_has_no_genotype_and_states_why() -> None:
    assessment = load_fixture("not_determined")
    bundle = build_bundle(assessment)
    validate(bundle)
    assert by_profile(bundle, "genotype") == []
    variant = one(by_profile(bundle, "variant"))
    assert variant["valueCodeableConcept"]["coding"][0]["code"] == "LA18198-4"  # No call
    assert component(variant, "53034-5") == []  # no allelic state is claimed
    assert value_codes(one(component(variant, "call-status"))) == ["failed_qc"]
    reason = one(component(variant, "call-reason"))
    assert reason["valueCodeableConcept"]["coding"] == [
        {
            "system": f"{LOCAL}/CodeSystem/call-reason",
            "code": "FILTERED",
            "display": "The site's FILTER is LowQual, not PASS.",
        }
    ]
    assert variant["note"] == [{"text": "The site's FILTER is LowQual, not PASS."}]
    implication = one(by_profile(bundle, "therapeutic-implication"))
    assert implication["derivedFrom"] == [{"reference": f"urn:uuid:{variant['id']}"}]
    report = one(resources(bundle, "DiagnosticReport"))
    assert len(report["result"]) == 2
    # nulls in the questionnaire are left out, never filled in (the name is required)
    patient = one(resources(bundle, "Patient"))
    assert set(patient) == {"resourceType", "id", "identifier", "name"}


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        ("no_call", "LA18198-4"),
        ("not_covered", "LA18198-4"),
        ("failed_qc", "LA18198-4"),
        ("ref_mismatch", "LA11884-6"),
    ],
)
def test_every_not_determined_status_maps_to_ll1971_2(status: str, answer: str) -> None:
    assessment = load_fixture("not_determined")
    assessment["call"]["status"] = status
    bundle = build_bundle(assessment)
    variant = one(by_profile(bundle, "variant"))
    assert value_codes(variant) == [answer]
    assert value_codes(one(component(variant, "call-status"))) == [status]


def test_not_determined_without_build_omits_build_dependent_components() -> None:
    assessment = load_fixture("not_determined")
    assessment["call"]["variant"]["build"] = None
    bundle = build_bundle(assessment)
    validate(bundle)
    variant = one(by_profile(bundle, "variant"))
    for code in ("62374-4", "81290-9", "48013-7"):
        assert component(variant, code) == []
    assert value_codes(one(component(variant, "48004-6"))) == ["NM_000914.5:c.118A>G"]


def test_warnings_on_a_called_genotype_are_kept() -> None:
    assessment = load_fixture("called")
    assessment["call"]["reason_codes"] = ["ALLELE_BALANCE_SKEW"]
    assessment["call"]["reasons"] = ["Allele balance 0.21 is outside 0.3-0.7."]
    variant = one(by_profile(build_bundle(assessment), "variant"))
    assert value_codes(one(component(variant, "call-reason"))) == ["ALLELE_BALANCE_SKEW"]
    assert value_codes(variant) == ["LA9633-4"]


# ---------------------------------------------------------------- contraindicated


def test_contraindication_is_a_detected_issue_and_leads_the_conclusion() -> None:
    assessment = load_fixture("contraindicated")
    bundle = build_bundle(assessment)
    validate(bundle)
    issue = one(resources(bundle, "DetectedIssue"))
    patient = one(resources(bundle, "Patient"))
    implication = one(by_profile(bundle, "therapeutic-implication"))
    contraindication = assessment["contraindications"][0]
    assert issue["status"] == "final"
    assert issue["severity"] == "high"
    assert issue["patient"] == {"reference": f"urn:uuid:{patient['id']}"}
    assert issue["code"]["coding"] == [
        {
            "system": f"{LOCAL}/CodeSystem/contraindication",
            "code": "opioid_agonist_treatment",
            "display": contraindication["text"]["en"],
        }
    ]
    assert issue["detail"] == contraindication["text"]["nb"]
    assert issue["implicated"] == [{"reference": f"urn:uuid:{implication['id']}"}]
    assert value_codes(one(component(implication, "therapeutic-implication"))) == [
        "contraindicated"
    ]
    report = one(resources(bundle, "DiagnosticReport"))
    lines = report["conclusion"].split("\n")
    assert lines[:2] == [assessment["overall"]["label"]["nb"], contraindication["text"]["nb"]]
    assert report["conclusionCode"][0]["coding"][0]["code"] == "contraindicated"
    provenance = one(resources(bundle, "Provenance"))
    assert {"reference": f"urn:uuid:{issue['id']}"} in provenance["target"]
    assert patient["gender"] == "male"


def test_relative_contraindication_is_moderate_severity() -> None:
    assessment = load_fixture("contraindicated")
    assessment["contraindications"].append(
        {
            "id": "hepatic_impairment",
            "severity": "relative",
            "label": {"en": "raised liver enzymes", "nb": "forhøyede leverenzymer"},
            "text": {"en": "Raised liver enzymes: review.", "nb": "Forhøyede leverenzymer."},
            "citations": [],
        }
    )
    issues = resources(build_bundle(assessment), "DetectedIssue")
    assert [i["severity"] for i in issues] == ["high", "moderate"]
    assert len({i["id"] for i in issues}) == 2


# ---------------------------------------------------------------- PDF and identifiers


def test_pdf_is_attached_as_presented_form() -> None:
    report = one(resources(bundle_of("called", PDF), "DiagnosticReport"))
    form = one(report["presentedForm"])
    assert form["contentType"] == "application/pdf"
    assert base64.b64decode(form["data"]) == PDF
    assert form["size"] == len(PDF)
    assert form["hash"] == base64.b64encode(hashlib.sha1(PDF).digest()).decode()
    assert "presentedForm" not in one(resources(bundle_of("called"), "DiagnosticReport"))


def test_ids_derive_from_the_input_hashes() -> None:
    base = bundle_of("called")
    ids = [e["fullUrl"] for e in base["entry"]]
    # the PDF changes the bundle, not the resources it describes
    with_pdf = bundle_of("called", PDF)
    assert [e["fullUrl"] for e in with_pdf["entry"]] == ids
    assert with_pdf["id"] != base["id"]
    # the order of the inputs does not matter
    reordered = load_fixture("called")
    reordered["provenance"]["inputs"].reverse()
    assert [e["fullUrl"] for e in build_bundle(reordered)["entry"]] == ids
    # another input file (another SHA-256) gives other ids throughout
    changed = load_fixture("called")
    changed["provenance"]["inputs"][0]["sha256"] = "f" * 64
    other = [e["fullUrl"] for e in build_bundle(changed)["entry"]]
    assert not set(other) & set(ids)
    # so does another knowledge base
    kb = load_fixture("called")
    kb["provenance"]["knowledge_base_version"] = "kb-1.1+sha256:000000000000"
    assert build_bundle(kb)["id"] != base["id"]


# ---------------------------------------------------------------- bad input (pure)


def _break(path: str, value: Any) -> dict[str, Any]:
    assessment = load_fixture("called")
    node = assessment
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return assessment


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("provenance.inputs", [], "$.provenance.inputs: expected a non-empty list"),
        (
            "provenance.knowledge_base_version",
            KeyError,
            "$.provenance: 'knowledge_base_version' is a required property",
        ),
        ("call.status", "maybe", "$.call.status: 'maybe' is not one of"),
        ("call.genotype", "A/T", "$.call.genotype: 'A/T' is not one of"),
        ("call.genotype", None, "$.call.genotype: must not be null for a called genotype"),
        ("call.variant.rsid", "rs1234", "$.call.variant.rsid: is 'rs1234'"),
        ("call.variant.build", "hg18", "$.call.variant.build: 'hg18' is not one of"),
        ("call.variant.pos", "154039662", "$.call.variant.pos: expected a positive integer"),
        ("patient.sex", "f", "$.patient.sex: 'f' is not one of ['female'"),
        ("overall.category", "great", "$.overall.category: 'great' is not one of"),
        ("overall.confidence", None, "$.overall.confidence: None is not one of"),
        ("factors", [], "$.factors: [] is too short"),
        (
            "dates",
            {"completed_on": None, "reported_on": None},
            "$.dates.reported_on: must not be null",
        ),
    ],
)
def test_bad_assessment_raises_input_error(path: str, value: Any, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        build_bundle(_break(path, value), source="a.json")
    assert fragment in str(info.value)
    assert str(info.value).startswith("a.json: $.")


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("schema", "pgx-report.call", "$.schema: 'pgx-report.call' is not 'pgx-report.assessment'"),
        ("schema_version", "2.0", "$.schema_version: '2.0' is not supported"),
    ],
)
def test_other_contract_or_version_is_refused(path: str, value: Any, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        build_bundle(_break(path, value), source="a.json")
    assert str(info.value).startswith(f"a.json: {fragment}")


def test_unknown_contraindication_severity_is_refused() -> None:
    assessment = load_fixture("contraindicated")
    assessment["contraindications"][0]["severity"] = "mild"
    with pytest.raises(InputError, match=r"contraindications\[0\].severity: 'mild'"):
        build_bundle(assessment)


# ---------------------------------------------------------------- the code table


def test_code_table_refseq_accessions_agree_with_the_site_definition() -> None:
    variant_yaml = REPO_ROOT / "pgx_report" / "data" / "variant.yaml"
    site = yaml.safe_load(variant_yaml.read_text(encoding="utf-8"))
    for build, entry in CODES.data["builds"].items():
        assert site["builds"][build]["hgvs_g"].split(":")[0] == entry["refseq_chr6"], build
    assert site["rsid"] == CODES.data["codes"]["rs1799971"]["code"]


def test_code_table_entries_all_name_a_known_system_and_a_source() -> None:
    raw = yaml.safe_load(CODES_PATH.read_text(encoding="utf-8"))
    for key, entry in raw["codes"].items():
        assert entry["system"] in raw["systems"], key
        assert entry.get("source"), key
    for section in ("profiles", "extensions", "systems", "builds"):
        for key, entry in raw[section].items():
            assert entry.get("source"), (section, key)


def test_unchecked_contraindications_are_machine_readable() -> None:
    assessment = load_fixture("called")
    assessment["overall"]["unchecked_contraindications"] = [
        "acute_hepatitis",
        "opioid_agonist_treatment",
    ]
    implication = one(by_profile(build_bundle(assessment), "therapeutic-implication"))
    unchecked = component(implication, "unchecked-contraindication")
    assert [value_codes(c) for c in unchecked] == [
        ["acute_hepatitis"],
        ["opioid_agonist_treatment"],
    ]
    assert unchecked[0]["valueCodeableConcept"]["coding"][0]["system"] == (
        f"{LOCAL}/CodeSystem/contraindication"
    )
    none_left = one(by_profile(bundle_of("called"), "therapeutic-implication"))
    assert component(none_left, "unchecked-contraindication") == []


def test_detected_issue_uses_the_concise_label_when_there_is_one() -> None:
    assessment = load_fixture("contraindicated")
    assessment["contraindications"][0]["label"] = {
        "en": "opioid agonist treatment",
        "nb": "opioidagonistbehandling",
    }
    issue = one(resources(build_bundle(assessment), "DetectedIssue"))
    assert issue["code"]["coding"][0]["display"] == "opioid agonist treatment"
    assert issue["code"]["text"] == "opioidagonistbehandling"
    assert issue["detail"] == assessment["contraindications"][0]["text"]["nb"]
