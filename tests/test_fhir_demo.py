"""FHIR bundles of REAL assessments, and the ``pgx-report fhir`` command.

Every demo patient goes through call -> assess -> fhir: the assessments are made by the
real engine (``pgx-report call`` on the bundled demo VCFs, ``pgx-report assess`` with the
demo questionnaires), so these tests break if the assessment and the FHIR export drift
apart. The command's error handling is tested on the same real files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, DEMO_PATIENTS, REPO_ROOT, assert_clean_error, run_pgx
from test_embedded import stand_in_report
from test_fhir import (
    PDF,
    by_profile,
    component,
    one,
    resources,
    unresolved_references,
    validate,
    value_codes,
)

from pgx_report.contracts.assessment import load_assessment
from pgx_report.files.io import canonical_json
from pgx_report.outputs.fhir.bundle import build_bundle


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """call + assess + fhir (with a stand-in PDF) for every demo patient, once."""
    out = tmp_path_factory.mktemp("fhir-demo")
    runs: dict[str, dict[str, Path]] = {}
    for name, (vcf, vcf_sample) in DEMO_PATIENTS.items():
        paths = {
            "call": out / f"{name}.call.json",
            "assessment": out / f"{name}.assessment.json",
            "fhir": out / f"{name}.fhir.json",
        }
        run_pgx(
            "call", DEMO / "vcfs" / vcf, "--sample", vcf_sample, "-o", paths["call"], check=True
        )
        run_pgx(
            "assess",
            "--call",
            paths["call"],
            "--questionnaire",
            DEMO / "questionnaires" / f"{name}.json",
            "-o",
            paths["assessment"],
            check=True,
        )
        # a stand-in report: only what `fhir --pdf` checks (the embedded assessment)
        paths["pdf"] = out / f"{name}.report.pdf"
        paths["pdf"].write_bytes(stand_in_report(paths["assessment"].read_bytes()))
        run_pgx("fhir", paths["assessment"], "-o", paths["fhir"], "--pdf", paths["pdf"], check=True)
        runs[name] = paths
    return runs


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", sorted(DEMO_PATIENTS))
def test_every_demo_patient_gets_a_valid_bundle(
    demo_runs: dict[str, dict[str, Path]], name: str
) -> None:
    bundle = _load(demo_runs[name]["fhir"])
    validate(bundle)
    assert unresolved_references(bundle) == []
    assessment = _load(demo_runs[name]["assessment"])
    # the command's bytes are the pure function's canonical JSON of the loaded assessment
    loaded = load_assessment(demo_runs[name]["assessment"]).to_dict()
    assert demo_runs[name]["fhir"].read_text(encoding="utf-8") == canonical_json(
        build_bundle(loaded, demo_runs[name]["pdf"].read_bytes())
    )
    report = one(resources(bundle, "DiagnosticReport"))
    assert report["language"] == assessment["language"]
    assert (
        assessment["overall"]["not_validated_notice"][assessment["language"]]
        in (report["conclusion"])
    )
    variant = one(by_profile(bundle, "variant"))
    assert value_codes(one(component(variant, "call-status"))) == [assessment["call"]["status"]]
    assert value_codes(one(component(variant, "62374-4"))) == [
        {"GRCh38": "LA26806-2", "GRCh37": "LA14029-5"}[assessment["call"]["variant"]["build"]]
    ]
    issues = resources(bundle, "DetectedIssue")
    assert [i["code"]["coding"][0]["code"] for i in issues] == [
        c["id"] for c in assessment["contraindications"]
    ]


def test_demo_carrier_called_genotype(demo_runs: dict[str, dict[str, Path]]) -> None:
    bundle = _load(demo_runs["demo-carrier"]["fhir"])
    geno = one(by_profile(bundle, "genotype"))
    assert geno["valueCodeableConcept"]["text"] == "OPRM1 rs1799971 A/G"
    variant = one(by_profile(bundle, "variant"))
    assert value_codes(variant) == ["LA9633-4"]
    assert value_codes(one(component(variant, "53034-5"))) == ["LA6706-1"]


def test_demo_aa_is_absent_not_missing(demo_runs: dict[str, dict[str, Path]]) -> None:
    bundle = _load(demo_runs["demo-aa"]["fhir"])
    assert value_codes(one(by_profile(bundle, "variant"))) == ["LA9634-2"]
    geno = one(by_profile(bundle, "genotype"))
    assert geno["valueCodeableConcept"]["text"] == "OPRM1 rs1799971 A/A"


def test_demo_nd_not_determined(demo_runs: dict[str, dict[str, Path]]) -> None:
    bundle = _load(demo_runs["demo-nd"]["fhir"])
    assessment = _load(demo_runs["demo-nd"]["assessment"])
    assert assessment["call"]["genotype"] is None
    assert by_profile(bundle, "genotype") == []
    variant = one(by_profile(bundle, "variant"))
    assert value_codes(variant) == ["LA18198-4"]
    reasons = [value_codes(c)[0] for c in component(variant, "call-reason")]
    assert reasons == assessment["call"]["reason_codes"]
    assert reasons  # the reason is always stated


def test_demo_opioid_contraindicated(demo_runs: dict[str, dict[str, Path]]) -> None:
    bundle = _load(demo_runs["demo-opioid"]["fhir"])
    assessment = _load(demo_runs["demo-opioid"]["assessment"])
    assert assessment["overall"]["category"] == "contraindicated"
    issues = resources(bundle, "DetectedIssue")
    assert issues
    assert all(i["severity"] == "high" for i in issues)
    implication = one(by_profile(bundle, "therapeutic-implication"))
    assert value_codes(one(component(implication, "therapeutic-implication"))) == [
        "contraindicated"
    ]
    report = one(resources(bundle, "DiagnosticReport"))
    first_lines = report["conclusion"].split("\n")[1 : 1 + len(issues)]
    assert first_lines == [i["detail"] for i in issues]


def test_demo_bundles_are_reproducible(
    demo_runs: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    pdf = demo_runs["demo-opioid"]["pdf"]
    again = tmp_path / "again.fhir.json"
    run_pgx("fhir", demo_runs["demo-opioid"]["assessment"], "-o", again, "--pdf", pdf, check=True)
    assert again.read_bytes() == demo_runs["demo-opioid"]["fhir"].read_bytes()


def test_demo_sparse_unchecked_contraindications(demo_runs: dict[str, dict[str, Path]]) -> None:
    bundle = _load(demo_runs["demo-sparse"]["fhir"])
    assessment = _load(demo_runs["demo-sparse"]["assessment"])
    expected = assessment["overall"]["unchecked_contraindications"]
    assert expected  # the sparse questionnaire leaves safety questions unanswered
    implication = one(by_profile(bundle, "therapeutic-implication"))
    found = [value_codes(c)[0] for c in component(implication, "unchecked-contraindication")]
    assert found == expected
    # GRCh37 input: the GRCh37 accession, never the GRCh38 one
    variant = one(by_profile(bundle, "variant"))
    assert value_codes(one(component(variant, "48013-7"))) == ["NC_000006.11"]


# ---------------------------------------------------------------- the command


def test_cli_writes_the_canonical_bundle_atomically(
    demo_runs: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    source = demo_runs["demo-carrier"]["assessment"]
    out = tmp_path / "new" / "folder" / "report.fhir.json"
    result = run_pgx("fhir", source, "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    expected = canonical_json(build_bundle(load_assessment(source).to_dict()))
    assert out.read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.fhir.json"]
    validate(_load(out))


def _bad_inputs(
    tmp_path: Path, good: Path, other_pdf: Path
) -> dict[str, tuple[list[str | Path], tuple[str, ...]]]:
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"schema": ', encoding="utf-8")
    array = tmp_path / "array.json"
    array.write_text("[]", encoding="utf-8")
    call_json = tmp_path / "call.json"
    call_json.write_text(json.dumps({"schema": "pgx-report.call"}), encoding="utf-8")
    bad_genotype = tmp_path / "badgeno.json"
    broken = _load(good)
    broken["call"]["genotype"] = "A/C"
    bad_genotype.write_text(json.dumps(broken), encoding="utf-8")
    not_pdf = tmp_path / "report.pdf"
    not_pdf.write_text("hello", encoding="utf-8")
    return {
        "missing": ([tmp_path / "nope.json"], ("nope.json: file not found",)),
        "directory": ([tmp_path], ("is a directory",)),
        "not-json": ([not_json], ("broken.json: line 1", "invalid JSON")),
        "array": ([array], ("array.json:", "expected a JSON object")),
        "wrong-schema": ([call_json], ("call.json: $.schema: 'pgx-report.call'",)),
        "bad-genotype": ([bad_genotype], ("badgeno.json:", "$.call.genotype: 'A/C'")),
        "not-a-pdf": ([good, "--pdf", not_pdf], ("report.pdf: not a PDF file",)),
        "missing-pdf": ([good, "--pdf", tmp_path / "no.pdf"], ("no.pdf: file not found",)),
        "other-patient-pdf": (
            [good, "--pdf", other_pdf],
            (f"{other_pdf}: is not the report of {good}",),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "directory",
        "not-json",
        "array",
        "wrong-schema",
        "bad-genotype",
        "not-a-pdf",
        "missing-pdf",
        "other-patient-pdf",
    ],
)
def test_cli_bad_input_exits_2_and_leaves_no_output(
    demo_runs: dict[str, dict[str, Path]], tmp_path: Path, case: str
) -> None:
    runs = demo_runs
    args, fragments = _bad_inputs(
        tmp_path, runs["demo-carrier"]["assessment"], runs["demo-aa"]["pdf"]
    )[case]
    out = tmp_path / "out.fhir.json"
    result = run_pgx("fhir", *args, "-o", out)
    assert_clean_error(result, *fragments)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.fhir.json")] == []


def test_cli_failure_keeps_an_existing_output_and_refuses_to_overwrite_input(
    demo_runs: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    out = tmp_path / "report.fhir.json"
    out.write_text("previous\n", encoding="utf-8")
    result = run_pgx("fhir", tmp_path / "missing.json", "-o", out)
    assert_clean_error(result, "missing.json: file not found")
    assert out.read_text(encoding="utf-8") == "previous\n"
    copy_of_input = tmp_path / "assessment.json"
    copy_of_input.write_bytes(demo_runs["demo-carrier"]["assessment"].read_bytes())
    before = copy_of_input.read_bytes()
    result = run_pgx("fhir", copy_of_input, "-o", copy_of_input)
    assert_clean_error(result, "output would overwrite the input file")
    assert copy_of_input.read_bytes() == before
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF)
    result = run_pgx("fhir", copy_of_input, "--pdf", pdf, "-o", pdf)
    assert_clean_error(result, "output would overwrite the input file")
    assert pdf.read_bytes() == PDF


def test_cli_requires_an_output() -> None:
    result = run_pgx("fhir", REPO_ROOT / "tests" / "data" / "fhir_assessment_called.json")
    assert result.returncode == 2
    assert "-o/--output" in result.stderr
