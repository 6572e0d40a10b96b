"""``pgx-report run VCF QUESTIONNAIRE -o OUTDIR``: call + assess + render in one process."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_pgx
from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"
OUTPUTS = ["assessment.json", "call.json", "report.html", "report.pdf"]
# demo patient -> (genotype input, sample, expected genotype, language, contraindicated)
DEMO_PATIENTS = {
    "demo-carrier": ("NA18564.OPRM1.g.vcf.gz", None, "A/G", "nb", False),
    "demo-aa": ("NA12878.OPRM1.g.vcf.gz", None, "A/A", "en", False),
    "demo-opioid": ("NA18945.OPRM1.g.vcf.gz", None, "G/G", "nb", True),
    "demo-nd": ("DEMO-ND.vcf.gz", None, None, "en", False),
    "demo-sparse": ("cohort.b37.vcf.gz", "COH-002", "A/G", "nb", False),
    "demo-cohort": ("cohort.b37.vcf.gz", "COH-001", "A/A", "en", False),
}


def pages(pdf: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize("demo", list(DEMO_PATIENTS))
def test_run_writes_the_four_outputs_for_each_demo_patient(demo: str, tmp_path: Path) -> None:
    vcf, sample, genotype, lang, contraindicated = DEMO_PATIENTS[demo]
    out = tmp_path / "out"
    args = [DEMO / "vcfs" / vcf, DEMO / "questionnaires" / f"{demo}.json", "-o", out]
    if sample:
        args += ["--sample", sample]
    result = run_pgx("run", *args)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    call = json.loads((out / "call.json").read_text(encoding="utf-8"))
    assessment_bytes = (out / "assessment.json").read_bytes()
    assessment = json.loads(assessment_bytes)
    assert call["genotype"] == genotype
    assert assessment["call"] == call
    assert assessment["language"] == lang
    assert (assessment["overall"]["category"] == "contraindicated") is contraindicated
    # provenance names the call file that was written, with its hash
    from pgx_report.files.io import sha256_file

    roles = {item["role"]: item for item in assessment["provenance"]["inputs"]}
    assert roles["call"]["sha256"] == sha256_file(out / "call.json")
    assert roles["questionnaire"]["sha256"] == sha256_file(DEMO / "questionnaires" / f"{demo}.json")
    pdf = (out / "report.pdf").read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments["assessment.json"] == [assessment_bytes]
    report_json = json.loads(reader.attachments["report.json"][0])  # issue 15 item 3
    assert (report_json["status"], report_json["version"]) == ("preliminary", 1)
    first = pages(pdf)[0]
    assert assessment["patient"]["name"] in first
    assert ("side 1 av" if lang == "nb" else "page 1 of") in first
    if contraindicated:
        assert ("KONTRAINDIKASJON" if lang == "nb" else "CONTRAINDICATION") in first
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in html


def test_run_equals_call_assess_render_and_is_deterministic(tmp_path: Path) -> None:
    vcf = DEMO / "vcfs" / "NA12878.OPRM1.g.vcf.gz"
    questionnaire = DEMO / "questionnaires" / "demo-aa.json"
    runs = []
    for name in ("a", "b"):  # two working folders, the same relative -o
        cwd = tmp_path / name
        cwd.mkdir()
        result = run_pgx("run", vcf, questionnaire, "-o", "out", "--lang", "nb", cwd=cwd)
        assert result.returncode == 0, result.stderr
        runs.append(cwd / "out")
    first, second = runs
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    a = json.loads((first / "assessment.json").read_text(encoding="utf-8"))
    call_input = next(i for i in a["provenance"]["inputs"] if i["role"] == "call")
    assert call_input["path"] == "call.json"  # not where this run wrote it
    assert a["language"] == "nb"  # --lang overrides the questionnaire's en
    # rendering the written assessment separately gives the same PDF
    rendered = tmp_path / "render.pdf"
    assert run_pgx("render", first / "assessment.json", "-o", rendered).returncode == 0
    assert rendered.read_bytes() == (first / "report.pdf").read_bytes()


def test_sample_mismatch_is_refused_unless_allowed_and_then_shown(tmp_path: Path) -> None:
    questionnaire = json.loads(
        (DEMO / "questionnaires" / "demo-carrier.json").read_text(encoding="utf-8")
    )
    questionnaire["sample_id"] = "NA99999"
    q = tmp_path / "q.json"
    q.write_text(json.dumps(questionnaire), encoding="utf-8")
    vcf = DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz"
    out = tmp_path / "out"
    assert_clean_error(run_pgx("run", vcf, q, "-o", out), "NA99999", "NA18564")
    assert not out.exists()
    result = run_pgx("run", vcf, q, "-o", out, "--allow-sample-mismatch", "--lang", "en")
    assert result.returncode == 0, result.stderr
    first = pages((out / "report.pdf").read_bytes())[0]
    assert "SAMPLE IDENTITY NOT CONFIRMED" in first
    assert "Questionnaire sample: NA99999; genotype file sample: NA18564." in first


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("missing_vcf", ("nope.vcf.gz",)),
        ("missing_questionnaire", ("nope.json",)),
        ("bad_questionnaire", ("q.json",)),
        ("multi_sample_without_sample", ("cohort.b37.vcf.gz", "--sample")),
    ],
)
def test_bad_input_is_a_clean_error_and_writes_nothing(
    case: str, fragments: tuple[str, ...], tmp_path: Path
) -> None:
    vcf = DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz"
    questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
    if case == "missing_vcf":
        vcf = tmp_path / "nope.vcf.gz"
    elif case == "missing_questionnaire":
        questionnaire = tmp_path / "nope.json"
    elif case == "bad_questionnaire":
        questionnaire = tmp_path / "q.json"
        questionnaire.write_text('{"questionnaire_version": "1.0", "typo": 1}', encoding="utf-8")
    elif case == "multi_sample_without_sample":
        vcf = DEMO / "vcfs" / "cohort.b37.vcf.gz"
        questionnaire = DEMO / "questionnaires" / "demo-cohort.json"
    out = tmp_path / "out"
    assert_clean_error(run_pgx("run", vcf, questionnaire, "-o", out), *fragments)
    assert not out.exists()


def test_run_refuses_to_write_over_its_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    questionnaire = folder / "assessment.json"  # a questionnaire that happens to have this name
    shutil.copy(DEMO / "questionnaires" / "demo-carrier.json", questionnaire)
    before = questionnaire.read_bytes()
    result = run_pgx("run", DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz", questionnaire, "-o", folder)
    assert_clean_error(result, "would overwrite the input")
    assert questionnaire.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["assessment.json"]


# --------------------------------------------------------------------------- BAM/CRAM input
# The alignment test generator (test_vcfs/alignments/generate.py) builds a BAM and a CRAM
# of 14 A + 12 G reads at the GRCh38 site, read group sample NA18564 (demo-carrier's
# questionnaire), and full-length chromosome 6 FASTAs with A (right) or G (wrong) at the site.
CARRIER_READS = {
    "formats": ["bam", "cram"],
    "samples": ["NA18564"],
    "reads": [{"n": 14, "base": "A"}, {"n": 12, "base": "G"}],
}


@pytest.fixture(scope="module")
def alignments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from alignment_support import load_generator

    generator = load_generator()
    folder = tmp_path_factory.mktemp("run-alignments")
    fasta = generator.write_fasta(folder / "GRCh38.fa.gz", build="GRCh38", bgzip=True)
    wrong = generator.write_fasta(folder / "wrong.fa", build="GRCh38", site_base="G")
    case = generator.write_case("carrier", CARRIER_READS, folder, fasta)
    return {"bam": case.files["bam"], "cram": case.files["cram"], "fasta": fasta, "wrong": wrong}


@pytest.mark.parametrize("fmt", ["bam", "cram"])
def test_run_genotypes_an_alignment(fmt: str, alignments: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
    result = run_pgx(
        "run", alignments[fmt], questionnaire, "-o", out, "--reference", alignments["fasta"]
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    call = json.loads((out / "call.json").read_text(encoding="utf-8"))
    assert (call["sample"], call["status"], call["genotype"]) == ("NA18564", "called", "A/G")
    assert call["qc"]["source"] == "alignment"
    assert call["qc"]["allele_depths"] == [14, 12]
    assert call["provenance"]["input"]["format"] == fmt
    assert call["provenance"]["reference"]["base"] == "A"
    assert call["provenance"]["reference"]["path"].endswith("GRCh38.fa.gz")
    assessment = json.loads((out / "assessment.json").read_text(encoding="utf-8"))
    assert assessment["call"] == call
    first = pages((out / "report.pdf").read_bytes())[0]
    assert assessment["patient"]["name"] in first and "A/G" in first


def test_run_passes_the_thresholds_and_pileup_options(
    alignments: dict[str, Path], tmp_path: Path
) -> None:
    """26 fragments: --min-depth 30 fails the call; --min-base-quality 31 drops every read
    (all bases at quality 30): the site then has no counted read."""
    questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
    expected = {"--min-depth": "LOW_DEPTH", "--min-base-quality": "LOW_DEPTH"}
    for option, value in (("--min-depth", "30"), ("--min-base-quality", "31")):
        out = tmp_path / option.strip("-")
        result = run_pgx("run", alignments["bam"], questionnaire, "-o", out, option, value)
        assert result.returncode == 0, result.stderr
        call = json.loads((out / "call.json").read_text(encoding="utf-8"))
        assert call["genotype"] is None, option
        assert expected[option] in call["reason_codes"], (option, call["reason_codes"])
        assert call["qc"]["depth"] == (26 if option == "--min-depth" else 0), option


@pytest.mark.parametrize(
    ("fmt", "extra", "fragments"),
    [
        ("cram", (), ("carrier.cram", "CRAM input needs", "--reference FASTA")),
        ("bam", ("--reference", "wrong"), ("wrong.fa", "reference base at chr6:154039662 is G")),
        ("bam", ("--error-rate", "0.6"), ("--error-rate must be above 0 and below 0.5",)),
    ],
    ids=["cram-without-reference", "wrong-reference-base", "bad-error-rate"],
)
def test_bad_alignment_run_is_a_clean_error_and_writes_nothing(
    fmt: str,
    extra: tuple[str, ...],
    fragments: tuple[str, ...],
    alignments: dict[str, Path],
    tmp_path: Path,
) -> None:
    args = [alignments["wrong"] if item == "wrong" else item for item in extra]
    out = tmp_path / "out"
    questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
    result = run_pgx("run", alignments[fmt], questionnaire, "-o", out, *args)
    assert_clean_error(result, *fragments)
    assert not out.exists()
