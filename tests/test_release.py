"""Report status, release and amendment (issue 15 items 3, 4, 5 and 7).

preliminary (render) -> final (release) -> amended -> corrected (amend), each page's
header carrying the status word in the report's language, the embedded report.json,
the FHIR status, the release log's SHA-256 chain checked by ``history``, byte-identical
reruns, every refusal (exit 2, one line), and ``release-batch`` over a workflow batch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pgx_report.cli import main
from pgx_report.clinical.knowledge import KnowledgeBase, load_knowledge_base
from pgx_report.contracts.report import report_from_dict, report_id_for
from pgx_report.files.io import canonical_json
from pgx_report.outputs.release_log import read_log
from pgx_report.outputs.report.embedded import read_embedded
from tests.test_describe_changes import make

AT = "2025-11-21T09:30:00+01:00"
DEMO_LAB = Path(__file__).resolve().parent.parent / "demo" / "lab.yaml"
AT2 = "2025-12-01T14:00:00+01:00"
AT3 = "2025-12-02T08:15:00Z"
REVIEWER = "Kari Nordmann, overlege"
WORDS = {
    "en": ("PRELIMINARY", "FINAL", "AMENDED", "CORRECTED"),
    "nb": ("FORELØPIG", "ENDELIG", "ENDRET", "KORRIGERT"),
}
RELEASED_BY = {"en": "Reviewed and released by", "nb": "Gjennomgått og frigitt av"}

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")


def run(*args: Any) -> int:
    return main([str(arg) for arg in args])


def pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext, one call per page)."""
    count = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    return [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, count + 1)
    ]


def info_of(pdf: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_embedded(pdf)["report.json"])
    return data


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> dict[str, Path]:
    """preliminary -> final -> amended -> corrected, in English and Norwegian."""
    root = tmp_path_factory.mktemp("chain")
    lab = root / "lab.yaml"
    shutil.copyfile(DEMO_LAB, lab)
    old = make(kb)
    new = make(kb, drinking={"audit_score": 10, "dsm5_aud_criteria": 2})
    newer = make(kb, drinking={"audit_score": 12, "dsm5_aud_criteria": 2})
    files = {"lab": lab, "old": root / "old.json", "new": root / "new.json"}
    files["newer"] = root / "newer.json"
    for key, item in (("old", old), ("new", new), ("newer", newer)):
        files[key].write_text(canonical_json(item.to_dict()), encoding="utf-8")
    for lang in ("en", "nb"):
        folder = root / lang
        folder.mkdir()
        p = files[f"preliminary_{lang}"] = folder / "preliminary.pdf"
        f = files[f"final_{lang}"] = folder / "final.pdf"
        a = files[f"amended_{lang}"] = folder / "amended.pdf"
        c = files[f"corrected_{lang}"] = folder / "corrected.pdf"
        assert run("render", files["old"], "-o", p, "--lang", lang) == 0
        assert (
            run(
                "release",
                p,
                "--reviewer",
                REVIEWER,
                "--at",
                AT,
                "-o",
                f,
                "--lab",
                lab,
                "--fhir",
                folder / "final.fhir.json",
                "--html",
                folder / "final.html",
            )
            == 0
        )
        assert (
            run(
                "amend",
                f,
                "--assessment",
                files["new"],
                "--reason",
                "AUDIT score re-entered",
                "--reviewer",
                REVIEWER,
                "--at",
                AT2,
                "-o",
                a,
                "--lab",
                lab,
                "--fhir",
                folder / "amended.fhir.json",
            )
            == 0
        )
        assert (
            run(
                "amend",
                a,
                "--assessment",
                files["newer"],
                "--reason",
                "typing error in AUDIT",
                "--corrected",
                "--reviewer",
                REVIEWER,
                "--at",
                AT3,
                "-o",
                c,
                "--lab",
                lab,
                "--fhir",
                folder / "corrected.fhir.json",
            )
            == 0
        )
    return files


@pytest.mark.parametrize("lang", ["en", "nb"])
@pytest.mark.parametrize("step", [0, 1, 2, 3])
def test_status_word_on_every_page(chain: dict[str, Path], lang: str, step: int) -> None:
    name = ("preliminary", "final", "amended", "corrected")[step]
    word = WORDS[lang][step]
    texts = pages(chain[f"{name}_{lang}"])
    assert len(texts) >= 2
    for number, text in enumerate(texts, start=1):
        header = "\n".join(text.strip().splitlines()[:3])
        assert word in header, f"{name} {lang} page {number}: no {word} in its header"
        others = set(WORDS[lang]) - {word}
        assert not any(other in header.split() for other in others)
    info = info_of(chain[f"{name}_{lang}"])
    assert info["status"] == name and info["language"] == lang
    assert info["version"] == (1, 1, 2, 3)[step]


def test_report_id_stable_and_in_footer(chain: dict[str, Path], kb: KnowledgeBase) -> None:
    expected = report_id_for(make(kb))
    assert expected.startswith("PGX-") and len(expected) == 20
    ids = {
        info_of(chain[f"{n}_{lang}"])["report_id"]
        for n in ("preliminary", "final", "amended", "corrected")
        for lang in ("en", "nb")
    }
    assert ids == {expected}
    for text in pages(chain["final_en"]):
        assert f"Report {expected} · version 1 · FINAL" in " ".join(text.split())


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_final_sign_off_names_reviewer_and_time(chain: dict[str, Path], lang: str) -> None:
    text = " ".join("\n".join(pages(chain[f"final_{lang}"])).split())
    assert RELEASED_BY[lang] in text
    assert REVIEWER in text and "2025-11-21 09:30" in text and "+01:00" in text
    info = info_of(chain[f"final_{lang}"])
    assert info["reviewer"] == REVIEWER and info["released_at"] == AT
    assert info["replaces"]["sha256"] == sha(chain[f"preliminary_{lang}"])
    preliminary = " ".join("\n".join(pages(chain[f"preliminary_{lang}"])).split())
    assert RELEASED_BY[lang] not in preliminary


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_amended_page_one_banner(chain: dict[str, Path], lang: str) -> None:
    final_sha = sha(chain[f"final_{lang}"])
    page1 = " ".join(pages(chain[f"amended_{lang}"])[0].split())
    replaces = {
        "en": "This report replaces version 1 of",
        "nb": "Denne rapporten erstatter versjon 1 av",
    }
    assert replaces[lang] in page1 and "2025-11-21 09:30 +01:00" in page1
    assert "AUDIT score re-entered" in page1
    info = info_of(chain[f"amended_{lang}"])
    assert info["replaces"] == {"version": 1, "status": "final", "date": AT, "sha256": final_sha}
    assert info["changes"] and all(change in page1 for change in info["changes"][:1])
    joined = "".join(pages(chain[f"amended_{lang}"])[0].split())
    assert final_sha in joined  # printed (it may wrap)
    corrected = info_of(chain[f"corrected_{lang}"])
    assert corrected["replaces"]["sha256"] == sha(chain[f"amended_{lang}"])
    assert corrected["replaces"]["status"] == "amended" and corrected["version"] == 3


def test_fhir_status_and_release_provenance(chain: dict[str, Path]) -> None:
    folder = chain["final_en"].parent
    for name, status in (("final", "final"), ("amended", "amended"), ("corrected", "corrected")):
        bundle = json.loads((folder / f"{name}.fhir.json").read_text("utf-8"))
        resources = [entry["resource"] for entry in bundle["entry"]]
        report = next(r for r in resources if r["resourceType"] == "DiagnosticReport")
        assert report["status"] == status
        values = [item["value"] for item in report["identifier"]]
        info = info_of(folder / f"{name}.pdf")
        assert values == [info["report_id"], f"{info['report_id']}-v{info['version']}"]
        release = [r for r in resources if r["resourceType"] == "Provenance" and "activity" in r]
        assert len(release) == 1
        assert release[0]["agent"][0]["who"]["display"] == REVIEWER
        revision = release[0]["entity"][0]
        assert revision["role"] == "revision"
        assert revision["what"]["identifier"]["value"] == info["replaces"]["sha256"]


def test_fhir_of_a_preliminary_report_is_preliminary(
    chain: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "p.fhir.json"
    assert run("fhir", chain["old"], "--pdf", chain["preliminary_en"], "-o", out) == 0
    bundle = json.loads(out.read_text("utf-8"))
    report = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    assert report["status"] == "preliminary"


def test_history_checks_the_chain(
    chain: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    log = chain["final_en"].parent / "release-log.jsonl"
    entries = read_log(log)
    assert [(e.version, e.status) for e in entries] == [
        (1, "final"),
        (2, "amended"),
        (3, "corrected"),
    ]
    assert entries[0].previous_sha256 == sha(chain["preliminary_en"])
    assert entries[1].previous_sha256 == entries[0].pdf_sha256 == sha(chain["final_en"])
    assert entries[2].previous_sha256 == entries[1].pdf_sha256 == sha(chain["amended_en"])
    assert entries[2].pdf_sha256 == sha(chain["corrected_en"])
    capsys.readouterr()
    assert run("history", log) == 0
    out = capsys.readouterr().out
    assert out.count(entries[0].report_id) == 3


def test_reruns_are_byte_identical_and_logged_once(chain: dict[str, Path], tmp_path: Path) -> None:
    folder = chain["final_en"].parent
    log = folder / "release-log.jsonl"
    before = log.read_bytes()
    for name in ("final.pdf", "final.fhir.json", "final.html"):
        shutil.copy(folder / name, tmp_path / name)
    assert (
        run(
            "release",
            chain["preliminary_en"],
            "--reviewer",
            REVIEWER,
            "--at",
            AT,
            "-o",
            chain["final_en"],
            "--lab",
            chain["lab"],
            "--fhir",
            folder / "final.fhir.json",
            "--html",
            folder / "final.html",
        )
        == 0
    )
    for name in ("final.pdf", "final.fhir.json", "final.html"):
        assert (folder / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert log.read_bytes() == before
    again = tmp_path / "elsewhere" / "final.pdf"
    again.parent.mkdir()
    assert (
        run(
            "release",
            chain["preliminary_en"],
            "--reviewer",
            REVIEWER,
            "--at",
            AT,
            "-o",
            again,
            "--lab",
            chain["lab"],
        )
        == 0
    )
    # the same bytes anywhere (report.json names no path)
    assert again.read_bytes() == chain["final_en"].read_bytes()
    amended = tmp_path / "elsewhere" / "amended.pdf"
    args = (
        "--reason",
        "AUDIT score re-entered",
        "--reviewer",
        REVIEWER,
        "--at",
        AT2,
        "--lab",
        chain["lab"],
    )
    assert run("amend", again, "--assessment", chain["new"], *args, "-o", amended) == 0
    assert amended.read_bytes() == chain["amended_en"].read_bytes()


# ------------------------------------------------------------------------------ refusals


def _release(chain: dict[str, Path], pdf: Path, out: Path, *extra: Any) -> int:
    return run("release", pdf, "--reviewer", REVIEWER, "--at", AT, "-o", out, *extra)


def test_release_refusals(
    chain: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.pdf"
    lab = ("--lab", chain["lab"])
    capsys.readouterr()
    code = _release(chain, chain["final_en"], out, *lab)
    one_error_line(capsys, code, "final.pdf", "not a preliminary")
    code = _release(chain, chain["preliminary_en"], out)
    one_error_line(capsys, code, "--lab")
    code = _release(chain, chain["old"], out, *lab)
    one_error_line(capsys, code, "old.json", "not a PDF")
    code = _release(chain, tmp_path / "missing.pdf", out, *lab)
    one_error_line(capsys, code, "missing.pdf")
    code = _release(chain, chain["preliminary_en"], out, "--lab", tmp_path / "nolab.yaml")
    one_error_line(capsys, code, "nolab.yaml")
    code = run(
        "release",
        chain["preliminary_en"],
        "--reviewer",
        REVIEWER,
        "--at",
        "2025-11-21 09:30",
        "-o",
        out,
        *lab,
    )
    one_error_line(capsys, code, "--at", "UTC offset")
    code = run(
        "release", chain["preliminary_en"], "--reviewer", "Kari", "--at", AT, "-o", out, *lab
    )
    one_error_line(capsys, code, "--reviewer", "NAME, ROLE")
    code = _release(chain, chain["preliminary_en"], chain["preliminary_en"], *lab)
    one_error_line(capsys, code, "preliminary.pdf")
    assert not out.exists()


def _altered(source: Path, target: Path, name: str, data: bytes) -> Path:
    """``source`` with its attachment ``name`` replaced by ``data`` (pypdf)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(source)
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    for key, values in reader.attachments.items():
        writer.add_attachment(key, data if key == name else values[0])
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def test_release_refuses_altered_embedded_data(
    chain: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.pdf"
    lab = ("--lab", chain["lab"])
    other = chain["new"].read_bytes()
    altered = _altered(chain["preliminary_en"], tmp_path / "altered.pdf", "assessment.json", other)
    capsys.readouterr()
    one_error_line(capsys, _release(chain, altered, out, *lab), "altered.pdf", "SHA-256")
    info = info_of(chain["preliminary_en"])
    info["status"] = "final"
    bad = json.dumps(info).encode()
    forged = _altered(chain["preliminary_en"], tmp_path / "forged.pdf", "report.json", bad)
    one_error_line(capsys, _release(chain, forged, out, *lab), "forged.pdf", "report.json")
    summary = tmp_path / "nojson.pdf"
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(chain["preliminary_en"]).pages:
        writer.add_page(page)
    with summary.open("wb") as handle:
        writer.write(handle)
    one_error_line(capsys, _release(chain, summary, out, *lab), "nojson.pdf", "not a pgx-report")
    assert not out.exists()
    assert report_from_dict(info_of(chain["final_en"]), "x").status == "final"


def test_amend_refusals(
    chain: dict[str, Path], tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.pdf"
    base = (
        "--reason",
        "why",
        "--reviewer",
        REVIEWER,
        "--at",
        AT2,
        "-o",
        out,
        "--lab",
        chain["lab"],
    )
    capsys.readouterr()
    code = run("amend", chain["preliminary_en"], "--assessment", chain["new"], *base)
    one_error_line(capsys, code, "preliminary.pdf", "release it first")
    other = tmp_path / "other.json"
    other_patient = make(kb, patient={"id": "P2", "name": "Other", "birth_date": "1980-01-01"})
    other.write_text(canonical_json(other_patient.to_dict()), encoding="utf-8")
    code = run("amend", chain["final_en"], "--assessment", other, *base)
    one_error_line(capsys, code, "other.json", "patient id")
    sample = make(kb)
    data = sample.to_dict()
    data["sample_id"] = "S2"
    data["call"]["sample"] = "S2"
    (tmp_path / "sample.json").write_text(canonical_json(data), encoding="utf-8")
    code = run("amend", chain["final_en"], "--assessment", tmp_path / "sample.json", *base)
    one_error_line(capsys, code, "sample")
    code = run(
        "amend",
        chain["final_en"],
        "--assessment",
        chain["new"],
        "--reason",
        " ",
        "--reviewer",
        REVIEWER,
        "--at",
        AT2,
        "-o",
        out,
        "--lab",
        chain["lab"],
    )
    one_error_line(capsys, code, "--reason")
    code = run(
        "amend",
        chain["final_en"],
        "--assessment",
        chain["new"],
        "--reason",
        "why",
        "--reviewer",
        REVIEWER,
        "--at",
        "2025-11-20T09:30:00+01:00",
        "-o",
        out,
        "--lab",
        chain["lab"],
    )
    one_error_line(capsys, code, "--at", "before the release of version 1")
    # the log refuses a second version 2 of the report (the chain is already at 3)
    code = run(
        "amend",
        chain["final_en"],
        "--assessment",
        chain["new"],
        "--reason",
        "again",
        "--reviewer",
        REVIEWER,
        "--at",
        AT2,
        "-o",
        chain["final_en"].parent / "x.pdf",
        "--lab",
        chain["lab"],
    )
    one_error_line(capsys, code, "release-log.jsonl", "version 2 is already logged")
    assert not (chain["final_en"].parent / "x.pdf").exists()
    assert not out.exists()


# ------------------------------------------------------------------------- batch release


def _batch(root: Path, kb: KnowledgeBase, samples: list[str], missing: list[str]) -> Path:
    results = root / "results"
    for sample in samples:
        folder = results / sample
        folder.mkdir(parents=True)
        assessment = make(kb)
        data = assessment.to_dict()
        data["sample_id"] = sample
        data["call"]["sample"] = sample
        path = folder / "assessment.json"
        path.write_text(canonical_json(data), encoding="utf-8")
        assert run("render", path, "-o", folder / "report.pdf") == 0
    sheet = root / "samples.tsv"
    rows = "".join(f"{sample}\n" for sample in samples + missing)
    sheet.write_text("sample\n" + rows, encoding="utf-8")
    return sheet


def test_release_batch(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = tmp_path / "lab.yaml"
    shutil.copyfile(DEMO_LAB, lab)
    sheet = _batch(tmp_path, kb, ["S1", "S2"], ["S3"])  # S3 has no report: batch REVIEW
    out = tmp_path / "released"
    args = (
        "release-batch",
        "--sheet",
        sheet,
        "--results",
        tmp_path / "results",
        "--logs",
        tmp_path / "logs",
        "--reviewer",
        REVIEWER,
        "--at",
        AT,
        "--lab",
        lab,
        "-o",
        out,
    )
    capsys.readouterr()
    one_error_line(capsys, run(*args), "batch QC verdict is REVIEW", "--override")
    assert not out.exists()
    reason = "S3 withdrawn by the clinic; S1 and S2 reviewed"
    assert run(*args, "--override", reason) == 0
    assert "released 2 report(s)" in capsys.readouterr().out
    for sample in ("S1", "S2"):
        pdf = out / sample / "report.pdf"
        info = info_of(pdf)
        assert info["status"] == "final" and info["override"] == reason
        text = " ".join("\n".join(pages(pdf)).split())
        assert reason in text and "batch QC verdict was not OK" in text
        assert (out / sample / "report.fhir.json").is_file()
    entries = read_log(out / "release-log.jsonl")
    assert [e.override for e in entries] == [reason, reason]
    assert run("history", out / "release-log.jsonl") == 0


def test_release_batch_ok_needs_no_override(tmp_path: Path, kb: KnowledgeBase) -> None:
    lab = tmp_path / "lab.yaml"
    shutil.copyfile(DEMO_LAB, lab)
    sheet = _batch(tmp_path, kb, ["S1"], [])
    out = tmp_path / "released"
    assert (
        run(
            "release-batch",
            "--sheet",
            sheet,
            "--results",
            tmp_path / "results",
            "--logs",
            tmp_path / "logs",
            "--reviewer",
            REVIEWER,
            "--at",
            AT,
            "--lab",
            lab,
            "-o",
            out,
        )
        == 0
    )
    info = info_of(out / "S1" / "report.pdf")
    assert info["status"] == "final" and info["override"] is None


def test_released_bundles_pass_the_ig_checks(chain: dict[str, Path]) -> None:
    """The release adds no coding, profile or extension the IG package does not allow."""
    from fhir.resources.R4B.bundle import Bundle

    from tests.test_fhir_ig import _codings, _profiled, coding_problem, profile_problems

    folder = chain["final_en"].parent
    for name in ("final", "amended", "corrected"):
        bundle = json.loads((folder / f"{name}.fhir.json").read_text("utf-8"))
        Bundle.model_validate(bundle)  # the fhir.resources R4B models accept it
        problems = [p for c in _codings(bundle) if (p := coding_problem(c))]
        problems += [p for r, sd in _profiled(bundle) for p in profile_problems(r, sd)]
        assert not problems, (name, problems)


def test_fhir_command_reads_the_status_of_a_final_pdf(
    chain: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "f.fhir.json"
    assert run("fhir", chain["old"], "--pdf", chain["final_en"], "-o", out) == 0
    bundle = json.loads(out.read_text("utf-8"))
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    report = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    assert report["status"] == "final" and kinds.count("Provenance") == 2


def test_a_long_list_of_changes_is_shortened_on_page_one(
    chain: dict[str, Path], tmp_path: Path, kb: KnowledgeBase
) -> None:
    folder = tmp_path / "many"
    shutil.copytree(chain["final_en"].parent, folder)
    many = make(
        kb,
        genotype="GG",
        drinking={"audit_score": 10, "dsm5_aud_criteria": 2},
        smoking={"status": "current"},
        completed_on="2025-11-21",
    )
    new = tmp_path / "many.json"
    new.write_text(canonical_json(many.to_dict()), encoding="utf-8")
    out = folder / "v4.pdf"
    assert (
        run(
            "amend",
            folder / "corrected.pdf",
            "--assessment",
            new,
            "--reason",
            "re-entered",
            "--reviewer",
            REVIEWER,
            "--at",
            "2025-12-03T09:00:00Z",
            "-o",
            out,
            "--lab",
            chain["lab"],
        )
        == 0
    )
    changes = info_of(out)["changes"]
    assert len(changes) > 4
    texts = [" ".join(page.split()) for page in pages(out)]
    assert f"and {len(changes) - 4} more (all listed under Sign-off)" in texts[0]
    assert "Summary" in texts[0]  # the summary stays on page 1
    assert all(change in " ".join(texts) for change in changes)
