"""Batch summary: statistics (against brute force), flags, reading the workflow's folders,
and the ``pgx-report summarize`` command (TSV, HTML, PDF)."""

from __future__ import annotations

import io
import json
import math
from itertools import product
from pathlib import Path

import pytest

from pgx_report.outputs.batch_summary import (
    Flag,
    Population,
    SampleRecord,
    SampleStatus,
    binomial_two_sided_p,
    collect_sample,
    error_line,
    hwe_exact_p,
    load_populations,
    summarize_batch,
)
from tests.conftest import assert_clean_error, run_pgx

EUR = Population("EUR", "European", 0.159, "test")


# ---- statistics ------------------------------------------------------------------------------


def hwe_brute_force(hets: int, hom1: int, hom2: int) -> float:
    """P-value by direct enumeration of the exact conditional distribution
    P(n_AB | n, n_A) = n! / (n_AA! n_AB! n_BB!) * 2^n_AB * n_A! n_B! / (2n)!."""
    n = hets + hom1 + hom2
    n_a = 2 * hom1 + hets
    n_b = 2 * n - n_a

    def log_prob(h: int) -> float:
        aa, bb = (n_a - h) // 2, (n_b - h) // 2
        return (
            math.lgamma(n + 1)
            - math.lgamma(aa + 1)
            - math.lgamma(h + 1)
            - math.lgamma(bb + 1)
            + h * math.log(2)
            + math.lgamma(n_a + 1)
            + math.lgamma(n_b + 1)
            - math.lgamma(2 * n + 1)
        )

    possible = [h for h in range(min(n_a, n_b) + 1) if (n_a - h) % 2 == 0]
    probs = {h: math.exp(log_prob(h)) for h in possible}
    observed = probs[hets]
    return min(1.0, sum(p for p in probs.values() if p <= observed * (1 + 1e-7)))


@pytest.mark.parametrize(
    ("hets", "hom1", "hom2"),
    [*product(range(0, 7), range(0, 5), range(0, 5)), (14, 57, 50), (0, 50, 50), (120, 10, 5)],
)
def test_hwe_exact_matches_brute_force(hets: int, hom1: int, hom2: int) -> None:
    if hets + hom1 + hom2 == 0:
        assert hwe_exact_p(0, 0, 0) == 1.0
        return
    assert hwe_exact_p(hets, hom1, hom2) == pytest.approx(
        hwe_brute_force(hets, hom1, hom2), rel=1e-9, abs=1e-300
    )


def test_hwe_exact_known_extremes() -> None:
    assert hwe_exact_p(0, 100, 0) == 1.0  # monomorphic: nothing to test
    assert hwe_exact_p(0, 50, 50) < 1e-25  # no heterozygote at q = 0.5: far from HWE
    assert hwe_exact_p(50, 25, 25) == pytest.approx(1.0, abs=0.2)
    assert hwe_exact_p(1, 0, 0) == 1.0
    assert hwe_exact_p(3, 4, 0) == hwe_exact_p(3, 0, 4)  # symmetric in the two homozygotes
    with pytest.raises(ValueError, match=">= 0"):
        hwe_exact_p(-1, 3, 3)


def binomial_brute_force(k: int, n: int, p: float) -> float:
    probs = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(x for x in probs if x <= probs[k] * (1 + 1e-7)))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 10, 0.5), (5, 10, 0.5), (3, 20, 0.159), (19, 40, 0.223), (40, 40, 0.159), (0, 1, 0.012)],
)
def test_binomial_matches_brute_force(k: int, n: int, p: float) -> None:
    assert binomial_two_sided_p(k, n, p) == pytest.approx(binomial_brute_force(k, n, p), rel=1e-9)


def test_binomial_known_values() -> None:
    assert binomial_two_sided_p(0, 10, 0.5) == pytest.approx(2 * 0.5**10)
    assert binomial_two_sided_p(5, 10, 0.5) == pytest.approx(1.0)
    assert binomial_two_sided_p(0, 0, 0.3) == 1.0
    with pytest.raises(ValueError):
        binomial_two_sided_p(11, 10, 0.5)


# ---- population data -------------------------------------------------------------------------


def test_populations_data_file_is_consistent() -> None:
    populations = load_populations()
    assert {"global_1000g", "EUR", "AFR", "EAS", "SAS", "CEU", "JPT", "ASW", "FIN"} <= set(
        populations
    )
    assert populations["global_1000g"].g_frequency == 0.223
    assert populations["CEU"].g_frequency == 0.15
    for population in populations.values():
        assert 0.0 < population.g_frequency < 1.0
        assert population.source.strip()


def test_population_frequencies_derived_from_carrier_frequency() -> None:
    import yaml

    raw = yaml.safe_load(
        (Path(__file__).parent.parent / "pgx_report/data/populations.yaml").read_text("utf-8")
    )["populations"]
    derived = {key: entry for key, entry in raw.items() if "carrier_frequency" in entry}
    assert set(derived) == {"EUR", "AFR", "EAS", "SAS"}
    for entry in derived.values():
        q = 1 - math.sqrt(1 - entry["carrier_frequency"])
        assert entry["g_frequency"] == pytest.approx(q, abs=0.0006)


# ---- summary and flags --------------------------------------------------------------------------


def batch(aa: int, ag: int, gg: int, nd: int = 0, **extra: SampleRecord) -> list[SampleRecord]:
    records = []
    for genotype, count in (("A/A", aa), ("A/G", ag), ("G/G", gg)):
        records += [
            SampleRecord(
                f"{genotype[0]}{genotype[2]}-{i}",
                None,
                SampleStatus.REPORTED,
                "called",
                genotype,
                "GRCh38",
            )
            for i in range(count)
        ]
    records += [
        SampleRecord(
            f"nd-{i}", None, SampleStatus.REPORTED, "failed_qc", None, "GRCh38", ("FILTERED",)
        )
        for i in range(nd)
    ]
    return records + list(extra.values())


def test_clean_batch_has_no_flag() -> None:
    summary = summarize_batch(batch(71, 27, 2), EUR)
    assert summary.genotype_counts == {"A/A": 71, "A/G": 27, "G/G": 2}
    assert summary.observed_g_frequency == pytest.approx(31 / 200)
    assert summary.flags == ()
    assert summary.verdict == "OK"
    assert summary.expected_counts["A/A"] == pytest.approx(100 * 0.841**2)


def test_allele_swap_is_flagged() -> None:
    summary = summarize_batch(batch(2, 27, 71), EUR)  # the clean batch with A and G swapped
    codes = [flag.code for flag in summary.flags]
    assert codes == [Flag.FREQUENCY_DEVIATION, Flag.ALLELE_SWAP_SUSPECTED]
    assert summary.verdict == "REVIEW"
    assert "0.845" in summary.flags[0].message and "0.159" in summary.flags[0].message


def test_missing_heterozygotes_flag_hwe() -> None:
    summary = summarize_batch(batch(60, 0, 40), Population("X", "x", 0.4, "test"))
    assert [flag.code for flag in summary.flags] == [Flag.HWE_DEVIATION]


def test_build_mix_up_flags_not_determined_and_ref_mismatch() -> None:
    mismatch = SampleRecord(
        "mm", None, SampleStatus.REPORTED, "ref_mismatch", None, "GRCh37", ("REF_MISMATCH",)
    )
    summary = summarize_batch(batch(10, 3, 0, nd=4, mm=mismatch), EUR)
    codes = [flag.code for flag in summary.flags]
    assert codes == [Flag.REF_MISMATCH, Flag.MANY_NOT_DETERMINED]
    assert summary.not_determined == 5
    assert summary.builds == {"GRCh37": 1, "GRCh38": 17}


def test_failed_samples_are_flagged_and_not_counted_as_genotypes() -> None:
    failed = SampleRecord(
        "bad", None, SampleStatus.FAILED, error="pgx-report: error: x.vcf: truncated"
    )
    summary = summarize_batch(batch(71, 27, 2, bad=failed), EUR)
    assert [flag.code for flag in summary.flags] == [Flag.FAILED_SAMPLES]
    assert "bad" in summary.flags[0].message
    assert summary.no_call_result == 1 and summary.reported == 100
    assert summary.called == 100


def test_empty_genotypes_give_no_test() -> None:
    summary = summarize_batch(batch(0, 0, 0, nd=1), EUR)
    assert summary.observed_g_frequency is None
    assert summary.hwe_p_value is None and summary.frequency_p_value is None


# ---- reading the folders ------------------------------------------------------------------------


def assessment(
    genotype: str | None,
    status: str = "called",
    category: str = "few_favourable_features",
    contraindications: tuple[str, ...] = (),
    build: str = "GRCh38",
) -> dict[str, object]:
    return {
        "schema": "pgx-report.assessment",
        "call": {
            "status": status,
            "genotype": genotype,
            "reason_codes": [] if status == "called" else ["FILTERED"],
            "variant": {"build": build},
        },
        "overall": {"category": category},
        "contraindications": [{"id": cid, "severity": "absolute"} for cid in contraindications],
    }


def make_run(root: Path) -> Path:
    """A workflow folder: 3 reported samples, 1 failed with an error line, 1 never run."""
    results, logs = root / "results", root / "logs"
    cases = {
        "s-ag": assessment("A/G"),
        "s-gg": assessment(
            "G/G", category="contraindicated", contraindications=("opioid_agonist_treatment",)
        ),
        "s-nd": assessment(None, status="failed_qc", category="insufficient_information"),
    }
    for sample, data in cases.items():
        (results / sample).mkdir(parents=True)
        (results / sample / "assessment.json").write_text(json.dumps(data), "utf-8")
        (results / sample / "report.pdf").write_bytes(b"%PDF-1.7\n")
        (logs / sample).mkdir(parents=True)
        (logs / sample / "report.log").write_text("", "utf-8")
    (logs / "s-bad").mkdir(parents=True)
    (logs / "s-bad" / "call.log").write_text(
        "pgx-report: error: bad.vcf.gz: line 12: malformed POS 'x'\n", "utf-8"
    )
    sheet = root / "samples.tsv"
    sheet.write_text(
        "# a comment\nsample\tvcf\tquestionnaire\tvcf_sample\n"
        + "".join(f"{s}\tx.vcf\tq.json\t{s.upper()}\n" for s in [*cases, "s-bad", "s-missing"]),
        "utf-8",
    )
    return sheet


def test_collect_sample_states(tmp_path: Path) -> None:
    make_run(tmp_path)
    results, logs = tmp_path / "results", tmp_path / "logs"
    gg = collect_sample("s-gg", "S-GG", results, logs)
    assert (gg.status, gg.genotype, gg.category, gg.contraindications) == (
        SampleStatus.REPORTED,
        "G/G",
        "contraindicated",
        ("opioid_agonist_treatment (absolute)",),
    )
    nd = collect_sample("s-nd", None, results, logs)
    assert (nd.call_status, nd.genotype, nd.reason_codes) == ("failed_qc", None, ("FILTERED",))
    bad = collect_sample("s-bad", None, results, logs)
    assert bad.status is SampleStatus.FAILED
    assert bad.error == "pgx-report: error: bad.vcf.gz: line 12: malformed POS 'x'"
    assert collect_sample("s-missing", None, results, logs).status is SampleStatus.NOT_RUN


def test_unreadable_result_marks_sample_failed(tmp_path: Path) -> None:
    (tmp_path / "results" / "s").mkdir(parents=True)
    (tmp_path / "results" / "s" / "assessment.json").write_text("{trunc", "utf-8")
    record = collect_sample("s", None, tmp_path / "results", tmp_path / "logs")
    assert record.status is SampleStatus.FAILED
    assert (
        record.error is not None
        and "assessment.json: line 1 column 2: invalid JSON" in record.error
    )


def test_error_line_prefers_pgx_error_then_last_line(tmp_path: Path) -> None:
    first = tmp_path / "a.log"
    first.write_text(
        "pgx-report: WARNING: low depth\npgx-report: error: q.json: drinking: bad\n", "utf-8"
    )
    other = tmp_path / "b.log"
    other.write_text("Traceback (most recent call last):\n  boom\nMemoryError\n\n", "utf-8")
    assert error_line([other, first]) == "pgx-report: error: q.json: drinking: bad"
    assert error_line([other]) == "MemoryError"
    assert error_line([tmp_path / "absent.log"]) is None


# ---- the command --------------------------------------------------------------------------------


def summarize(root: Path, *extra: str) -> tuple[object, Path]:
    out = root / "out"
    result = run_pgx(
        "summarize",
        "--sheet",
        root / "samples.tsv",
        "--results",
        root / "results",
        "--logs",
        root / "logs",
        "-o",
        out / "batch_summary.tsv",
        "--html",
        out / "batch_summary.html",
        "--pdf",
        out / "batch_summary.pdf",
        *extra,
    )
    return result, out


def read_tsv(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    facts: dict[str, str] = {}
    lines = path.read_text("utf-8").splitlines()
    for line in lines:
        if line.startswith("## ") and "=" in line:
            key, value = line[3:].split("=", 1)
            facts[key] = value if key not in facts else facts[key] + " | " + value
    table = [line.split("\t") for line in lines if not line.startswith("#")]
    return facts, [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def test_summarize_command_writes_tsv_html_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader

    make_run(tmp_path)
    result, out = summarize(tmp_path, "--population", "EAS")
    assert result.returncode == 0, result.stderr
    facts, rows = read_tsv(out / "batch_summary.tsv")
    assert facts["samples"] == "5" and facts["reported"] == "3"
    assert (facts["A/A"], facts["A/G"], facts["G/G"], facts["not_determined"]) == (
        "0",
        "1",
        "1",
        "1",
    )
    assert facts["no_call_result"] == "2" and facts["contraindicated"] == "1"
    assert facts["observed_g_frequency"] == "0.750" and facts["expected_g_frequency"] == "0.385"
    assert facts["verdict"] == "REVIEW" and facts["flag"].startswith("FAILED_SAMPLES: 2 of 5")
    by_sample = {row["sample"]: row for row in rows}
    assert [row["sample"] for row in rows] == ["s-ag", "s-gg", "s-nd", "s-bad", "s-missing"]
    assert by_sample["s-bad"]["status"] == "failed"
    assert (
        by_sample["s-bad"]["error"] == "pgx-report: error: bad.vcf.gz: line 12: malformed POS 'x'"
    )
    assert by_sample["s-missing"]["status"] == "not_run"
    assert (
        by_sample["s-nd"]["genotype"] == "not_determined" and by_sample["s-nd"]["qc"] == "FILTERED"
    )
    assert by_sample["s-gg"]["contraindications"] == "opioid_agonist_treatment (absolute)"
    html = (out / "batch_summary.html").read_text("utf-8")
    assert "<svg" in html and "malformed POS &#39;x&#39;" in html and "REVIEW" in html
    text = " ".join(page.extract_text() for page in PdfReader(out / "batch_summary.pdf").pages)
    for fragment in ("batch summary", "FAILED_SAMPLES", "s-bad", "malformed POS", "Hardy-Weinberg"):
        assert fragment in text, fragment
    assert "batch flag FAILED_SAMPLES" in result.stderr


def test_summarize_is_reproducible(tmp_path: Path) -> None:
    make_run(tmp_path)
    _, out = summarize(tmp_path)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    _, out = summarize(tmp_path)
    assert first == {p.name: p.read_bytes() for p in out.iterdir()}


def test_summarize_html_escapes_sample_text(tmp_path: Path) -> None:
    make_run(tmp_path)
    (tmp_path / "logs" / "s-bad" / "call.log").write_text(
        "pgx-report: error: <script>alert(1)</script>\n", "utf-8"
    )
    _, out = summarize(tmp_path)
    html = (out / "batch_summary.html").read_text("utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (("--population", "MARS"), ("--population", "unknown population 'MARS'", "EUR")),
        (("--sheet", "absent.tsv"), ("absent.tsv", "file not found")),
    ],
)
def test_summarize_bad_input(
    tmp_path: Path, change: tuple[str, str], fragments: tuple[str, ...]
) -> None:
    make_run(tmp_path)
    result = run_pgx(
        "summarize",
        "--sheet",
        tmp_path / "samples.tsv",
        "--results",
        tmp_path / "results",
        "--logs",
        tmp_path / "logs",
        "-o",
        tmp_path / "s.tsv",
        *change,
        cwd=tmp_path,
    )
    assert_clean_error(result, *fragments)
    assert not (tmp_path / "s.tsv").exists()


def test_summarize_duplicate_sample_in_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tvcf\na\tx\nb\tx\na\ty\n", "utf-8")
    result = run_pgx("summarize", "--sheet", sheet, "-o", tmp_path / "s.tsv", cwd=tmp_path)
    assert_clean_error(result, "samples.tsv", "line 4: duplicate sample 'a' (first on line 2)")


def test_summarize_refuses_to_overwrite_the_sheet(tmp_path: Path) -> None:
    sheet = make_run(tmp_path)
    before = sheet.read_bytes()
    result = run_pgx("summarize", "--sheet", sheet, "-o", sheet, cwd=tmp_path)
    assert_clean_error(result, "would overwrite the input")
    assert sheet.read_bytes() == before


def test_tsv_cells_stay_one_line() -> None:
    from pgx_report.outputs.batch_summary import to_tsv

    record = SampleRecord("s", None, SampleStatus.FAILED, error="line one\tand\nline two")
    text = to_tsv(summarize_batch([record], EUR), "0.0")
    row = text.splitlines()[-1].split("\t")
    assert row[8] == "line one and line two"
    assert io.StringIO(text).read().count("\n") == len(text.splitlines())


def test_large_batch_pdf_lists_only_samples_needing_attention() -> None:
    from pgx_report.outputs.batch_summary import PDF_MAX_ROWS, to_html

    records = batch(150, 90, 10, nd=2)
    records.append(
        SampleRecord("failed-1", None, SampleStatus.FAILED, error="pgx-report: error: x")
    )
    records.append(
        SampleRecord(
            "ci-1", None, SampleStatus.REPORTED, "called", "A/G", "GRCh38",
            category="contraindicated", contraindications=("current_opioid_use (absolute)",),
        )
    )  # fmt: skip
    summary = summarize_batch(records, EUR)
    full = to_html(summary, "0.0")
    short = to_html(summary, "0.0", max_rows=PDF_MAX_ROWS)
    assert full.count('<td class="sample">') == len(records) == 254
    assert short.count('<td class="sample">') == 4  # 2 not determined, 1 failed, 1 contraindicated
    for sample in ("nd-0", "nd-1", "failed-1", "ci-1"):
        assert f'<td class="sample">{sample}</td>' in short
    assert "250 further samples were reported without a finding" in short
    assert "further samples" not in full
