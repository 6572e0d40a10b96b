"""Targeted assay plates (QuantStudio genotyping exports): every call kind, the plate's
controls, replicates, omitted wells, a real instrument export, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_clean_error, run_pgx
from plate_support import load_spec, plate_text, write_assays, write_plate

from pgx_report.contracts.call import validate_call_dict
from pgx_report.files.sniff import InputFormat, sniff_format
from pgx_report.genotype.plate.assays import load_assays
from pgx_report.genotype.plate.qc import PlateSettings, call_plate
from pgx_report.genotype.plate.quantstudio import read_plate

DATA = Path(__file__).parent / "data" / "plates"
REAL = DATA / "quantstudio7_snp_genotyping_example.txt"
CASES = [
    (plate, sample, want)
    for plate, item in load_spec()["plates"].items()
    for sample, want in item["expect"].items()
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plates")
    for name in load_spec()["plates"]:
        write_plate(path, name)
    write_assays(path)
    return path


@pytest.mark.parametrize(("plate", "sample", "want"), CASES, ids=[f"{p}-{s}" for p, s, _ in CASES])
def test_spec_calls(folder: Path, plate: str, sample: str, want: list[object]) -> None:
    calls = call_plate(read_plate(folder / f"{plate}.txt"), load_assays(folder / "assays.yaml"))
    by_sample = {call.sample: call for call in calls}
    call = by_sample[sample]
    validate_call_dict(call.to_dict())
    assert [call.status.value, call.genotype, list(call.reason_codes)] == want
    assert not {"NTC", "PC-A", "PC-G"} & set(by_sample)  # control wells: never sample calls


def test_no_call_keeps_the_instrument_word(folder: Path) -> None:
    calls = call_plate(read_plate(folder / "clean.txt"), load_assays(folder / "assays.yaml"))
    by_sample = {call.sample: call for call in calls}
    assert by_sample["S5"].gt == "No Amp"
    assert by_sample["S8"].gt == "Homozygous A118/A118 | Heterozygous A118/G118"
    s9 = by_sample["S9"]
    assert [w["position"] for w in s9.qc["wells"]] == ["C3"]
    assert s9.qc["omitted_wells"] == ["C4"]
    controls = s9.qc["assays"][0]["controls"]
    assert controls["passed"] is True
    assert [(n["position"], n["amplified"]) for n in controls["ntc"]] == [("A1", False)]
    assert {p["sample"]: p["observed"] for p in controls["positive"]} == {
        "PC-A": "A/A",
        "PC-G": "G/G",
        "PC-AG": "A/G",
        "CTRL-AG": "A/G",
    }


def test_min_quality_option(folder: Path) -> None:
    plate, assays = read_plate(folder / "clean.txt"), load_assays(folder / "assays.yaml")
    s7 = {c.sample: c for c in call_plate(plate, assays, PlateSettings(min_quality=75))}["S7"]
    assert (s7.status.value, s7.genotype, s7.provenance["thresholds"]) == (
        "called",
        "A/A",
        {"min_quality": 75},
    )


def test_cli_call_one_sample(folder: Path) -> None:
    result = run_pgx(
        "call",
        folder / "clean.txt",
        "--assays",
        folder / "assays.yaml",
        "--sample",
        "S2",
        check=True,
    )
    data = json.loads(result.stdout)
    assert (data["status"], data["genotype"], data["gt"]) == (
        "called",
        "A/G",
        "Heterozygous A118/G118",
    )
    prov = data["provenance"]
    assert prov["genotype_source"] == "targeted_assay" and "build" not in prov
    assert prov["instrument"]["type"] == "QuantStudio(TM) 7 Flex System"
    assert prov["run_end_time"] == "2026-01-05 10:00:00 AM CET"
    assert prov["input"]["format"] == "quantstudio"
    assert data["qc"]["wells"][0]["allele1_delta_rn"] == 4.1


def test_real_instrument_export() -> None:
    assert sniff_format(REAL) is InputFormat.QUANTSTUDIO
    plate = read_plate(REAL)
    assert len(plate.wells) == 96 and plate.assays["CYP19_2"].reporter1 == "VIC"
    calls = call_plate(plate, load_assays(DATA / "quantstudio7_assays.yaml"))
    assert {(c.sample, c.status.value, c.genotype) for c in calls} == {
        ("Allele 1", "called", "A/A"),
        ("Allele 2", "called", "G/G"),
        ("Hetero", "called", "A/G"),
    }
    controls = calls[0].qc["assays"][0]["controls"]
    assert len(controls["ntc"]) == 8 and not any(n["amplified"] for n in controls["ntc"])
    assert sorted(p["task"] for p in controls["positive"]) == [
        "PC_ALLELE_1",
        "PC_ALLELE_2",
        "PC_ALLELE_BOTH",
    ]
    hetero = next(c for c in calls if c.sample == "Hetero")
    # A10 is the PC_ALLELE_BOTH control: a control, not one of the sample's wells
    assert len(hetero.qc["wells"]) == 23 and hetero.qc["wells"][0]["allele1_ct"] == 25.867


def test_all_samples_directory(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls"
    run_pgx(
        "call",
        folder / "ntc_contaminated.txt",
        "--assays",
        folder / "assays.yaml",
        "--all-samples",
        "-o",
        out,
        check=True,
    )
    tsv = (out / "calls.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[1].split("\t")[:6] == [
        "S1",
        "failed_qc",
        "",
        "",
        "Homozygous A118/A118",
        "NTC_AMPLIFIED",
    ]


SPEC_WELLS = load_spec()["plates"]["positive_control_failed"]["wells"]
BAD = [
    ("Homozygous A118/A118", "Homozygous T/T", "line 19: Call 'Homozygous T/T'"),
    ("\t99.000\t", "\t99,000\t", "line 18: Quality(%) '99,000' is not a number"),
    ("\tfalse\tS1", "\tmaybe\tS1", "line 20: Omit 'maybe'"),
    ("\tUNKNOWN\t4", "\tSAMPLE\t4", "line 19: Task 'SAMPLE'"),
    ("\tB1\tfalse", "\tB\tfalse", "line 20: Well Position 'B'"),
    ("* Instrument Name", "Instrument Name", "line 4: expected a '* Key = Value'"),
    ("Experiment Type = Genotyping", "Experiment Type = Standard Curve", "not Genotyping"),
    ("\tCall\t", "\tKall\t", "line 16: [Results] has no column 'Call'"),
    # identity fields: control and format characters are refused, also where strip()
    # would have removed them (U+001F at the end)
    ("\tfalse\tS1", "\tfalse\tS\u202e1", "line 20: [Results] Sample Name: character 2 is U+202E"),
    ("\tfalse\tS1", "\tfalse\tS1\x1f", "line 20: [Results] Sample Name: character 3 is U+001F"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD, ids=[b[2][:30] + b[2][-6:] for b in BAD])
def test_malformed_export_exit_2(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = plate_text("bad", SPEC_WELLS)
    assert old in text
    plate = tmp_path / "plate.txt"
    plate.write_text(
        text.replace(old, new, 1)
        if old != "\tUNKNOWN\t4"
        else text.replace("\tUNKNOWN\t4.100", "\tSAMPLE\t4.100"),
        encoding="utf-8",
    )
    result = run_pgx("call", plate, "--assays", write_assays(tmp_path), "--sample", "S1")
    assert_clean_error(result, str(plate), message)


def test_unknown_assay_exit_2(tmp_path: Path) -> None:
    plate = tmp_path / "plate.txt"
    plate.write_text(plate_text("x", SPEC_WELLS, assay="CYP2D6_X"), encoding="utf-8")
    result = run_pgx("call", plate, "--assays", write_assays(tmp_path), "--sample", "S1")
    assert_clean_error(result, "assay 'CYP2D6_X' is not defined in assays.yaml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("assays: {X: {site: rs1799971, alleles: {A118: A, G118: A}}}", "one allele to A"),
        ("assays: {X: {site: rs123, alleles: {A118: A, G118: G}}}", "$.assays.X.site"),
        ("assays: {X: {site: rs1799971, alleles: {A118: A, G118: T}}}", "$.assays.X.alleles"),
        ("assays: [", "not valid YAML"),
    ],
)
def test_bad_assay_file_exit_2(folder: Path, tmp_path: Path, body: str, message: str) -> None:
    assays = tmp_path / "assays.yaml"
    assays.write_text(body + "\n", encoding="utf-8")
    result = run_pgx("call", folder / "clean.txt", "--assays", assays, "--sample", "S1")
    assert_clean_error(result, str(assays), message)


def test_plate_needs_assays_and_sample(folder: Path) -> None:
    assert_clean_error(run_pgx("call", folder / "clean.txt", "--sample", "S1"), "--assays")
    result = run_pgx("call", folder / "clean.txt", "--assays", folder / "assays.yaml")
    assert_clean_error(result, "--sample or --all-samples")
    result = run_pgx(
        "call", folder / "clean.txt", "--assays", folder / "assays.yaml", "--sample", "NOPE"
    )
    assert_clean_error(result, "sample 'NOPE' is not on the plate")


def test_batch_summary_per_plate(folder: Path, tmp_path: Path) -> None:
    from pgx_report.outputs.batch_summary import (
        Flag,
        SampleRecord,
        SampleStatus,
        load_populations,
        plate_controls,
        summarize_batch,
        to_html,
        to_tsv,
    )

    records = []
    assays = load_assays(folder / "assays.yaml")
    for name in ("clean", "ntc_contaminated"):
        for call in call_plate(read_plate(folder / f"{name}.txt"), assays):
            data = call.to_dict()
            records.append(SampleRecord(
                f"{name}-{call.sample}", call.sample, SampleStatus.REPORTED,
                call_status=data["status"], genotype=data["genotype"],
                plate=plate_controls(data),
            ))  # fmt: skip
    summary = summarize_batch(records, load_populations()["global_1000g"])
    plates = {plate.plate.split(" ")[0]: plate for plate in summary.plates}
    clean, dirty = plates["clean.txt"], plates["ntc_contaminated.txt"]
    assert (clean.passed, clean.controls_passed, clean.controls_failed, clean.ntc) == (
        True, 4, 0, "clean")  # fmt: skip
    assert (clean.called, clean.samples) == (5, 11)  # CTRL-AG (Task UNKNOWN) is a sample too
    assert (dirty.passed, dirty.ntc, dirty.called, dirty.samples) == (False, "amplified", 0, 1)
    failed = [f for f in summary.flags if f.code is Flag.PLATE_QC_FAILED]
    assert len(failed) == 1 and "ntc_contaminated.txt" in failed[0].message
    assert summary.verdict == "REVIEW"
    tsv = to_tsv(summary, "test")
    assert "## plate=ntc_contaminated.txt" in tsv and "NTC amplified" in tsv
    assert "FAILED: do not release" in to_html(summary, "test")
