"""Batch QC summary of a workflow run: what a lab reads before it releases the reports.

Pure core (no file access): :func:`summarize_batch` turns per-sample records into counts,
the observed 118G allele frequency against the expected frequency of a configured
population (exact binomial test), a Hardy-Weinberg exact test (Wigginton, Cutler &
Abecasis, Am J Hum Genet 2005;76:887) and flags for a batch that looks wrong. The edge
:func:`collect_sample` reads the workflow's folders (the sample sheet is read by
:func:`pgx_report.batch.sheet.sheet_samples`); the command ``pgx-report summarize``
writes TSV, HTML and PDF.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pgx_report.contracts.text import unprintable_in
from pgx_report.errors import InputError
from pgx_report.files.jsonio import read_json
from pgx_report.paths import DATA_DIR, TEMPLATE_DIRS

log = logging.getLogger(__name__)

GENOTYPES = ("A/A", "A/G", "G/G")
MIN_SAMPLES_FOR_POWER = 20  # below this the two tests have little power; said in the summary
PDF_MAX_ROWS = 200  # a larger batch's PDF lists only the samples that need attention
_ERROR_PREFIXES = ("pgx-report: error:", "pgx-report: internal error:")


class SampleStatus(StrEnum):
    REPORTED = "reported"  # assessment.json and report.pdf exist
    FAILED = "failed"  # a job of this sample failed (error line from its log)
    NOT_RUN = "not_run"  # no report and no error of its own: an upstream job failed / run stopped


class Flag(StrEnum):
    FAILED_SAMPLES = "FAILED_SAMPLES"
    HWE_DEVIATION = "HWE_DEVIATION"
    FREQUENCY_DEVIATION = "FREQUENCY_DEVIATION"
    ALLELE_SWAP_SUSPECTED = "ALLELE_SWAP_SUSPECTED"
    REF_MISMATCH = "REF_MISMATCH"
    MANY_NOT_DETERMINED = "MANY_NOT_DETERMINED"
    PLATE_QC_FAILED = "PLATE_QC_FAILED"


@dataclass(frozen=True)
class Population:
    key: str
    label: str
    g_frequency: float
    source: str


@dataclass(frozen=True)
class SampleRecord:
    """What the workflow left behind for one sample (already read from disk)."""

    sample: str
    vcf_sample: str | None
    status: SampleStatus
    call_status: str | None = None  # called | no_call | not_covered | failed_qc | ref_mismatch
    genotype: str | None = None  # only when call_status == "called"
    build: str | None = None
    reason_codes: tuple[str, ...] = ()
    category: str | None = None
    contraindications: tuple[str, ...] = ()  # "id (severity)"
    error: str | None = None
    report: str | None = None
    plate: PlateControls | None = None  # targeted assay plates only


@dataclass(frozen=True)
class PlateControls:
    """What a sample's call says about its plate (docs/targeted.md)."""

    plate: str  # the export's file name and the start of its SHA-256
    controls_passed: int
    controls_failed: int
    ntc: str  # clean | amplified | none
    passed: bool


@dataclass(frozen=True)
class PlateSummary:
    plate: str
    samples: int
    called: int
    controls_passed: int
    controls_failed: int
    ntc: str
    passed: bool

    @property
    def call_rate(self) -> float:
        return self.called / self.samples if self.samples else 0.0

    def text(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"{self.plate}: QC {verdict}; positive controls {self.controls_passed} passed, "
            f"{self.controls_failed} failed; NTC {self.ntc}; call rate {self.called}/"
            f"{self.samples} ({self.call_rate:.0%})"
        )


def plate_controls(call: Mapping[str, Any]) -> PlateControls | None:
    """The plate facts of a targeted assay call, else None."""
    provenance = call.get("provenance") or {}
    if provenance.get("genotype_source") != "targeted_assay":
        return None
    source = provenance.get("input") or {}
    assays = (call.get("qc") or {}).get("assays") or []
    controls = [a.get("controls") or {} for a in assays]
    positive = [p for c in controls for p in c.get("positive") or []]
    ntc = [n for c in controls for n in c.get("ntc") or []]
    ntc_text = (
        "none" if not ntc else ("amplified" if any(n.get("amplified") for n in ntc) else "clean")
    )
    return PlateControls(
        plate=f"{source.get('path')} ({str(source.get('sha256', ''))[:12]})",
        controls_passed=sum(1 for p in positive if p.get("passed")),
        controls_failed=sum(1 for p in positive if not p.get("passed")),
        ntc=ntc_text,
        passed=all(c.get("passed") for c in controls),
    )


def plate_summaries(samples: Sequence[SampleRecord]) -> tuple[PlateSummary, ...]:
    by_plate: dict[str, list[SampleRecord]] = {}
    for record in samples:
        if record.plate is not None:
            by_plate.setdefault(record.plate.plate, []).append(record)
    out = []
    for name, records in sorted(by_plate.items()):
        first = records[0].plate
        assert first is not None
        out.append(
            PlateSummary(
                plate=name,
                samples=len(records),
                called=sum(1 for r in records if r.call_status == "called"),
                controls_passed=first.controls_passed,
                controls_failed=first.controls_failed,
                ntc=first.ntc,
                passed=all(r.plate is not None and r.plate.passed for r in records),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class BatchFlag:
    code: Flag
    message: str


@dataclass(frozen=True)
class BatchSummary:
    samples: tuple[SampleRecord, ...]
    population: Population
    alpha: float
    max_not_determined_fraction: float
    genotype_counts: dict[str, int]
    not_determined: int  # a call exists but is not a genotype
    no_call_result: int  # no call at all (the call job failed or did not run)
    reported: int
    g_alleles: int
    observed_g_frequency: float | None
    frequency_p_value: float | None
    hwe_p_value: float | None
    expected_counts: dict[str, float]
    builds: dict[str, int]
    category_counts: dict[str, int]
    contraindicated: int
    flags: tuple[BatchFlag, ...] = field(default=())
    plates: tuple[PlateSummary, ...] = field(default=())

    @property
    def called(self) -> int:
        return sum(self.genotype_counts.values())

    @property
    def verdict(self) -> str:
        return "REVIEW" if self.flags else "OK"


# ---- population data -------------------------------------------------------------------


@cache
def load_populations() -> dict[str, Population]:
    """Expected 118G allele frequencies, from ``pgx_report/data/populations.yaml``."""
    path = DATA_DIR / "populations.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    found = unprintable_in(data)  # labels and sources are printed in the summary
    if found:
        raise InputError(path, f"{found[0]}: {found[1]}")
    return {
        key: Population(key, entry["label"], float(entry["g_frequency"]), entry["source"])
        for key, entry in data["populations"].items()
    }


# ---- statistics --------------------------------------------------------------------------


def hwe_exact_p(hets: int, hom1: int, hom2: int) -> float:
    """Two-sided Hardy-Weinberg exact test p-value for one bi-allelic site.

    The algorithm of Wigginton, Cutler & Abecasis (2005): the probabilities of every
    possible heterozygote count given the allele counts, by recurrence from the mode,
    summed over the outcomes no more likely than the observed one.
    """
    if min(hets, hom1, hom2) < 0:
        raise ValueError("genotype counts must be >= 0")
    homr, homc = sorted((hom1, hom2))
    genotypes = hets + homr + homc
    if genotypes == 0:
        return 1.0
    rare = 2 * homr + hets
    probs = [0.0] * (rare + 1)
    mid = rare * (2 * genotypes - rare) // (2 * genotypes)
    if (rare % 2) != (mid % 2):
        mid += 1
    probs[mid] = 1.0
    curr_homr = (rare - mid) // 2
    curr_homc = genotypes - mid - curr_homr
    curr_hets = mid
    while curr_hets > 1:
        probs[curr_hets - 2] = (
            probs[curr_hets]
            * curr_hets
            * (curr_hets - 1)
            / (4.0 * (curr_homr + 1) * (curr_homc + 1))
        )
        curr_hets -= 2
        curr_homr += 1
        curr_homc += 1
    curr_homr = (rare - mid) // 2
    curr_homc = genotypes - mid - curr_homr
    curr_hets = mid
    while curr_hets <= rare - 2:
        probs[curr_hets + 2] = (
            probs[curr_hets] * 4.0 * curr_homr * curr_homc / ((curr_hets + 2) * (curr_hets + 1))
        )
        curr_hets += 2
        curr_homr -= 1
        curr_homc -= 1
    total = sum(probs)
    observed = probs[hets]
    tolerance = observed * 1e-7  # outcomes equally likely up to rounding count as "as extreme"
    p_value = sum(p for p in probs if p <= observed + tolerance) / total
    return min(1.0, p_value)


def binomial_two_sided_p(successes: int, trials: int, p: float) -> float:
    """Exact two-sided binomial test (outcomes no more likely than the observed one)."""
    if not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials")
    if trials == 0:
        return 1.0
    if p <= 0.0 or p >= 1.0:
        return 1.0 if successes == round(p * trials) else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_choose_n = math.lgamma(trials + 1)

    def log_pmf(k: int) -> float:
        return (
            log_choose_n
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * log_p
            + (trials - k) * log_q
        )

    observed = log_pmf(successes)
    limit = observed + 1e-7
    total = sum(math.exp(lp) for lp in map(log_pmf, range(trials + 1)) if lp <= limit)
    return min(1.0, total)


# ---- the summary ---------------------------------------------------------------------------


def summarize_batch(
    samples: Sequence[SampleRecord],
    population: Population,
    alpha: float = 0.001,
    max_not_determined_fraction: float = 0.2,
) -> BatchSummary:
    genotype_counts = Counter({genotype: 0 for genotype in GENOTYPES})
    genotype_counts.update(s.genotype for s in samples if s.genotype in GENOTYPES)
    with_call = [s for s in samples if s.call_status is not None]
    not_determined = sum(1 for s in with_call if s.call_status != "called")
    called = sum(genotype_counts.values())
    g_alleles = genotype_counts["A/G"] + 2 * genotype_counts["G/G"]
    q = population.g_frequency
    observed = g_alleles / (2 * called) if called else None
    frequency_p = binomial_two_sided_p(g_alleles, 2 * called, q) if called else None
    hwe_p = (
        hwe_exact_p(genotype_counts["A/G"], genotype_counts["A/A"], genotype_counts["G/G"])
        if called
        else None
    )
    expected = {
        "A/A": called * (1 - q) ** 2,
        "A/G": called * 2 * q * (1 - q),
        "G/G": called * q**2,
    }
    summary = BatchSummary(
        samples=tuple(samples),
        population=population,
        alpha=alpha,
        max_not_determined_fraction=max_not_determined_fraction,
        genotype_counts=dict(genotype_counts),
        not_determined=not_determined,
        no_call_result=len(samples) - len(with_call),
        reported=sum(1 for s in samples if s.status is SampleStatus.REPORTED),
        g_alleles=g_alleles,
        observed_g_frequency=observed,
        frequency_p_value=frequency_p,
        hwe_p_value=hwe_p,
        expected_counts=expected,
        builds=dict(sorted(Counter(s.build for s in with_call if s.build).items())),
        category_counts=dict(sorted(Counter(s.category for s in samples if s.category).items())),
        contraindicated=sum(1 for s in samples if s.category == "contraindicated"),
        plates=plate_summaries(samples),
    )
    return replace(summary, flags=tuple(batch_flags(summary)))


def batch_flags(summary: BatchSummary) -> Iterable[BatchFlag]:
    """The reasons to look at this batch again before releasing its reports."""
    failed = [s.sample for s in summary.samples if s.status is not SampleStatus.REPORTED]
    if failed:
        yield BatchFlag(
            Flag.FAILED_SAMPLES,
            f"{len(failed)} of {len(summary.samples)} samples have no report: "
            + ", ".join(failed[:10])
            + (" ..." if len(failed) > 10 else ""),
        )
    for plate in summary.plates:
        if not plate.passed:
            yield BatchFlag(
                Flag.PLATE_QC_FAILED,
                f"plate {plate.text()}: its samples are failed_qc; rerun the plate",
            )
    mismatched = sum(1 for s in summary.samples if s.call_status == "ref_mismatch")
    if mismatched:
        yield BatchFlag(
            Flag.REF_MISMATCH,
            f"{mismatched} sample(s) have a reference base other than A at the site: "
            "a wrong reference build or a strand flip in the input",
        )
    with_call = len(summary.samples) - summary.no_call_result
    if with_call and summary.not_determined / with_call > summary.max_not_determined_fraction:
        yield BatchFlag(
            Flag.MANY_NOT_DETERMINED,
            f"{summary.not_determined} of {with_call} calls are not determined "
            f"(more than {summary.max_not_determined_fraction:.0%}): check coverage of the "
            "site, the reference build and the filters of the input",
        )
    q = summary.population.g_frequency
    observed = summary.observed_g_frequency
    if (
        observed is not None
        and summary.frequency_p_value is not None
        and summary.frequency_p_value < summary.alpha
    ):
        yield BatchFlag(
            Flag.FREQUENCY_DEVIATION,
            f"observed 118G frequency {observed:.3f} differs from the expected {q:.3f} "
            f"({summary.population.label}; exact binomial p = {summary.frequency_p_value:.2g})",
        )
        if abs(observed - (1 - q)) < abs(observed - q):
            yield BatchFlag(
                Flag.ALLELE_SWAP_SUSPECTED,
                f"the observed frequency is nearer 1 - expected ({1 - q:.3f}) than the "
                "expected: are REF and ALT (A and G) swapped in this batch?",
            )
    if summary.hwe_p_value is not None and summary.hwe_p_value < summary.alpha:
        yield BatchFlag(
            Flag.HWE_DEVIATION,
            "genotype counts deviate from Hardy-Weinberg proportions (exact test p = "
            f"{summary.hwe_p_value:.2g}): look for genotyping errors (heterozygotes called "
            "homozygous), duplicated or contaminated samples, or a mixed batch",
        )


# ---- reading the workflow's folders (the edges) -------------------------------------------------


def _read_json(path: Path) -> dict[str, Any] | None:
    """A sample's JSON result, or None when the step did not write it."""
    if not path.exists():
        return None
    data, _ = read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, "not a JSON object")
    return data


def error_line(log_files: Iterable[Path]) -> str | None:
    """The error line a failed job left: pgx-report's one-line error if there is one,
    else the last non-empty line of the most recent non-empty log."""
    last_lines: list[tuple[float, str]] = []
    for path in log_files:
        try:
            lines = [ln.strip() for ln in path.read_text("utf-8", "replace").splitlines()]
        except OSError:
            continue
        lines = [ln for ln in lines if ln]
        for line in reversed(lines):
            if line.startswith(_ERROR_PREFIXES):
                return line
        if lines:
            last_lines.append((path.stat().st_mtime, lines[-1]))
    return max(last_lines)[1] if last_lines else None


def collect_sample(sample: str, vcf_sample: str | None, results: Path, logs: Path) -> SampleRecord:
    """Read what the workflow left for one sample. A sample whose files cannot be read
    is reported as failed (with the reason) instead of stopping the whole summary."""
    folder = results / sample
    log_files = sorted((logs / sample).glob("*.log")) if (logs / sample).is_dir() else []
    try:
        assessment = _read_json(folder / "assessment.json")
        call = assessment["call"] if assessment else _read_json(folder / "call.json")
    except (InputError, KeyError, TypeError) as err:
        return SampleRecord(sample, vcf_sample, SampleStatus.FAILED, error=str(err))
    report = folder / "report.pdf"
    reported = assessment is not None and report.is_file()
    error = None if reported else error_line(log_files)
    if reported:
        status = SampleStatus.REPORTED
    else:
        status = SampleStatus.FAILED if error else SampleStatus.NOT_RUN
    fields: dict[str, Any] = {}
    if call:
        fields.update(
            call_status=call.get("status"),
            genotype=call.get("genotype") if call.get("status") == "called" else None,
            build=(call.get("variant") or {}).get("build"),
            reason_codes=tuple(call.get("reason_codes") or ()),
            plate=plate_controls(call),
        )
    if assessment:
        fields.update(
            category=(assessment.get("overall") or {}).get("category"),
            contraindications=tuple(
                f"{item.get('id')} ({item.get('severity')})"
                for item in assessment.get("contraindications") or ()
            ),
        )
    return SampleRecord(
        sample,
        vcf_sample,
        status,
        error=error,
        report=report.as_posix() if reported else None,
        **fields,
    )


def cohort_errors(logs: Path) -> list[tuple[str, str]]:
    """(cohort log, error line) for failed cohort calls (``logs/_cohorts/*.log``)."""
    folder = logs / "_cohorts"
    found = []
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        line = error_line([path])
        if line and line.startswith(_ERROR_PREFIXES):
            found.append((path.as_posix(), line))
    return found


# ---- output text (pure) ----------------------------------------------------------------------

TSV_COLUMNS = (
    "sample",
    "vcf_sample",
    "status",
    "call_status",
    "genotype",
    "category",
    "contraindications",
    "qc",
    "error",
    "report",
)


def _cell(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _p(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def genotype_display(record: SampleRecord) -> str:
    if record.genotype:
        return record.genotype
    return "not_determined" if record.call_status else ""


def sample_rows(summary: BatchSummary) -> list[dict[str, str]]:
    return [
        {
            "sample": s.sample,
            "vcf_sample": _cell(s.vcf_sample),
            "status": s.status.value,
            "call_status": _cell(s.call_status),
            "genotype": genotype_display(s),
            "category": _cell(s.category),
            "contraindications": ", ".join(s.contraindications),
            "qc": ",".join(s.reason_codes),
            "error": _cell(s.error),
            "report": _cell(s.report),
        }
        for s in summary.samples
    ]


def batch_facts(summary: BatchSummary, tool_version: str) -> list[tuple[str, str]]:
    """Batch-level (key, value) lines: the header of the TSV and the top of the HTML."""
    population = summary.population
    facts = [
        ("tool_version", tool_version),
        ("verdict", summary.verdict),
        ("samples", str(len(summary.samples))),
        ("reported", str(summary.reported)),
        *((genotype, str(summary.genotype_counts[genotype])) for genotype in GENOTYPES),
        ("not_determined", str(summary.not_determined)),
        ("no_call_result", str(summary.no_call_result)),
        ("contraindicated", str(summary.contraindicated)),
        ("builds", ",".join(f"{b}:{n}" for b, n in summary.builds.items())),
        ("population", population.key),
        ("expected_g_frequency", f"{population.g_frequency:.3f}"),
        ("expected_g_frequency_source", population.source),
        (
            "observed_g_frequency",
            "" if summary.observed_g_frequency is None else f"{summary.observed_g_frequency:.3f}",
        ),
        ("frequency_p", _p(summary.frequency_p_value)),
        ("hwe_p", _p(summary.hwe_p_value)),
        ("alpha", f"{summary.alpha:g}"),
    ]
    facts += [("plate", plate.text()) for plate in summary.plates]
    facts += [("flag", f"{flag.code.value}: {flag.message}") for flag in summary.flags]
    return facts


def to_tsv(
    summary: BatchSummary, tool_version: str, cohort_failures: Sequence[tuple[str, str]] = ()
) -> str:
    lines = ["## pgx-report batch summary"]
    lines += [f"## {key}={_cell(value)}" for key, value in batch_facts(summary, tool_version)]
    lines += [f"## cohort_error={_cell(f'{path}: {line}')}" for path, line in cohort_failures]
    lines.append("\t".join(TSV_COLUMNS))
    lines += ["\t".join(row[column] for column in TSV_COLUMNS) for row in sample_rows(summary)]
    return "\n".join(lines) + "\n"


def needs_attention(row: dict[str, str]) -> bool:
    """A sample row a lab must look at: failed, not determined, or contraindicated."""
    return (
        row["status"] != SampleStatus.REPORTED.value
        or row["genotype"] not in GENOTYPES
        or row["category"] == "contraindicated"
        or bool(row["contraindications"])
    )


def genotype_plot_svg(summary: BatchSummary) -> str:
    """Observed genotype counts beside the counts expected at the population's frequency
    (Hardy-Weinberg), as a small inline SVG bar chart."""
    width, height, base, top = 360, 175, 145, 34
    observed = summary.genotype_counts
    expected = summary.expected_counts
    peak = max([1.0, *observed.values(), *expected.values()])
    scale = (base - top) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Observed and expected '
        'genotype counts">',
        f'<line x1="30" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#444"/>',
    ]
    for index, genotype in enumerate(GENOTYPES):
        x = 45 + index * 105
        for offset, value, colour in (
            (0, observed[genotype], "#2b6cb0"),
            (34, expected[genotype], "#bbb"),
        ):
            bar = value * scale
            parts.append(
                f'<rect x="{x + offset}" y="{base - bar:.1f}" width="30" height="{bar:.1f}" '
                f'fill="{colour}"/>'
            )
            label = f"{value:.0f}" if offset == 0 else f"{value:.1f}"
            parts.append(
                f'<text x="{x + offset + 15}" y="{base - bar - 4:.1f}" font-size="10" '
                f'text-anchor="middle">{label}</text>'
            )
        parts.append(
            f'<text x="{x + 32}" y="{base + 16}" font-size="12" text-anchor="middle">'
            f"{genotype}</text>"
        )
    parts += [
        f'<rect x="{width - 150}" y="4" width="10" height="10" fill="#2b6cb0"/>',
        f'<text x="{width - 136}" y="13" font-size="10">observed</text>',
        f'<rect x="{width - 85}" y="4" width="10" height="10" fill="#bbb"/>',
        f'<text x="{width - 71}" y="13" font-size="10">expected</text>',
        "</svg>",
    ]
    return "".join(parts)


SUMMARY_TEMPLATE = "batch_summary.html.j2"


def to_html(
    summary: BatchSummary,
    tool_version: str,
    cohort_failures: Sequence[tuple[str, str]] = (),
    max_rows: int | None = None,
) -> str:
    """The summary page. With ``max_rows`` (used for the PDF of a large batch) the sample
    table keeps only the samples that need attention once the batch has more rows."""
    from jinja2 import Environment, StrictUndefined
    from markupsafe import Markup

    template_text = (
        next(d for d in TEMPLATE_DIRS if (d / SUMMARY_TEMPLATE).is_file()) / SUMMARY_TEMPLATE
    ).read_text("utf-8")
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(template_text)
    rows = sample_rows(summary)
    shown = rows
    if max_rows is not None and len(rows) > max_rows:
        shown = [row for row in rows if needs_attention(row)]
    return template.render(
        summary=summary,
        facts=dict(batch_facts(summary, tool_version)),
        flags=summary.flags,
        columns=TSV_COLUMNS,
        rows=shown,
        rows_left_out=len(rows) - len(shown),
        failed=[row for row in rows if row["status"] != SampleStatus.REPORTED.value],
        cohort_failures=cohort_failures,
        genotypes=GENOTYPES,
        expected={g: f"{summary.expected_counts[g]:.1f}" for g in GENOTYPES},
        plot=Markup(genotype_plot_svg(summary)),  # built here from numbers only
        low_power=summary.called < MIN_SAMPLES_FOR_POWER,
        min_samples=MIN_SAMPLES_FOR_POWER,
    )
