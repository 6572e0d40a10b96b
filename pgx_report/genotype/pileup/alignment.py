"""Genotype rs1799971 straight from aligned reads (BAM/CRAM).

Two layers:

* a pure core (no pysam): which read counts at the site (:func:`observe_read`), overlapping
  mates counted once (:func:`merge_mates`), the tally (:class:`PileupCounts`), and the
  genotype likelihood model (:func:`genotype_likelihoods`, :func:`assess_pileup`);
* the I/O edge (:func:`read_alignment_header`, :func:`pileup_site`), which opens the file
  with pysam, fetches the reads over the site and feeds them to the core.

The model and the defaults are documented for users in ``docs/alignment.md``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import struct
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgx_report.contracts.call import Call, Reason, Status, Thresholds, status_for
from pgx_report.errors import InputError, UnknownSampleError, UsageError
from pgx_report.files import digest
from pgx_report.files.digest import Identity
from pgx_report.genotype.pileup.options import PileupOptions as PileupOptions
from pgx_report.genotype.provenance import InputFile, SiteQc, provenance
from pgx_report.genotype.site import rs1799971

if TYPE_CHECKING:
    import pysam

    from pgx_report.genotype.genome_build import BuildDetection

log = logging.getLogger(__name__)

# SAM flag bits (SAM specification, section 1.4).
FLAG_PAIRED = 0x1
FLAG_UNMAPPED = 0x4
FLAG_READ1 = 0x40
FLAG_SECONDARY = 0x100
FLAG_QC_FAIL = 0x200
FLAG_DUPLICATE = 0x400
FLAG_SUPPLEMENTARY = 0x800

# CIGAR operations (pysam numbering = BAM numbering).
CIGAR_M, CIGAR_I, CIGAR_D, CIGAR_N, CIGAR_S, CIGAR_H, CIGAR_P, CIGAR_EQ, CIGAR_X = range(9)
_CONSUMES_REF = frozenset({CIGAR_M, CIGAR_D, CIGAR_N, CIGAR_EQ, CIGAR_X})
_CONSUMES_QUERY = frozenset({CIGAR_M, CIGAR_I, CIGAR_S, CIGAR_EQ, CIGAR_X})
_ALIGNED = frozenset({CIGAR_M, CIGAR_EQ, CIGAR_X})

BASES = ("A", "C", "G", "T", "N")
GENOTYPES = ("A/A", "A/G", "G/G")
GT_STRINGS = {"A/A": "0/0", "A/G": "0/1", "G/G": "1/1"}
GQ_CAP = 99


class Exclusion(StrEnum):
    """Why a read that overlaps the site was not counted (keys of ``PileupCounts.excluded``)."""

    UNMAPPED = "unmapped"
    SECONDARY = "secondary"
    SUPPLEMENTARY = "supplementary"
    QC_FAIL = "qc_fail"
    DUPLICATE = "duplicate"
    LOW_MAPPING_QUALITY = "low_mapping_quality"
    OTHER_SAMPLE = "other_sample"
    NOT_AT_SITE = "not_at_site"  # soft clip/insertion only: no aligned base at the site
    REF_SKIP = "ref_skip"  # spliced (CIGAR N) over the site
    LOW_BASE_QUALITY = "low_base_quality"
    OVERLAPPING_MATE = "overlapping_mate"  # second copy of a fragment, counted once
    DISCORDANT_MATES = "discordant_mates"  # both mates of a fragment, they disagree


# --------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class Observation:
    """What one counted read shows at the site: a base (with its quality) or a deletion."""

    fragment: str  # query name: both mates of a pair share it
    base: str  # "A", "C", "G", "T", "N" or "-" (deletion)
    quality: int  # base quality; 0 for a deletion (it has none)
    first_mate: bool = True


def locate_in_read(
    reference_start: int, cigar: Sequence[tuple[int, int]], site0: int
) -> tuple[str, int | None]:
    """Where a read's alignment puts the 0-based reference position ``site0``.

    Returns ``("base", query_index)``, ``("deletion", None)``, ``("ref_skip", None)``
    or ``("outside", None)``. Soft-clipped bases are not aligned, so they never cover
    the site (their base there would be a guess).
    """
    ref = reference_start
    query = 0
    for op, length in cigar:
        if op in _CONSUMES_REF and ref <= site0 < ref + length:
            if op in _ALIGNED:
                return "base", query + (site0 - ref)
            return ("deletion" if op == CIGAR_D else "ref_skip"), None
        if op in _CONSUMES_REF:
            ref += length
        if op in _CONSUMES_QUERY:
            query += length
        if ref > site0:
            break
    return "outside", None


def observe_read(
    *,
    name: str,
    flag: int,
    mapping_quality: int,
    reference_start: int,
    cigar: Sequence[tuple[int, int]],
    sequence: str | None,
    qualities: Sequence[int] | None,
    site0: int,
    options: PileupOptions,
) -> Observation | Exclusion:
    """Apply the read filters to one read; return what it shows at the site or why not."""
    for bit, reason in (
        (FLAG_UNMAPPED, Exclusion.UNMAPPED),
        (FLAG_SECONDARY, Exclusion.SECONDARY),
        (FLAG_SUPPLEMENTARY, Exclusion.SUPPLEMENTARY),
        (FLAG_QC_FAIL, Exclusion.QC_FAIL),
        (FLAG_DUPLICATE, Exclusion.DUPLICATE),
    ):
        if flag & bit:
            return reason
    if mapping_quality < options.min_mapping_quality or mapping_quality == 255:
        # MAPQ 255 means "not available" in the SAM specification.
        return Exclusion.LOW_MAPPING_QUALITY
    kind, index = locate_in_read(reference_start, cigar, site0)
    first = not (flag & FLAG_PAIRED) or bool(flag & FLAG_READ1)
    if kind == "deletion":
        return Observation(name, "-", 0, first)
    if kind == "ref_skip":
        return Exclusion.REF_SKIP
    if kind == "outside" or index is None or not sequence or index >= len(sequence):
        return Exclusion.NOT_AT_SITE
    base = sequence[index].upper()
    if base not in BASES:  # IUPAC codes other than N: not a called base
        base = "N"
    quality = qualities[index] if qualities is not None and index < len(qualities) else 0
    if quality < options.min_base_quality:
        return Exclusion.LOW_BASE_QUALITY
    return Observation(name, base, quality, first)


def merge_mates(observations: Iterable[Observation]) -> tuple[list[Observation], Counter[str]]:
    """Count each sequenced fragment once.

    When both mates of a pair pass the filters and cover the site they are one
    piece of evidence, not two. If they agree, the copy with the higher base quality
    is kept; if they disagree, neither is counted (the fragment is ambiguous).
    """
    by_fragment: dict[str, list[Observation]] = {}
    for obs in observations:
        by_fragment.setdefault(obs.fragment, []).append(obs)
    kept: list[Observation] = []
    dropped: Counter[str] = Counter()
    for group in by_fragment.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        if len({obs.base for obs in group}) == 1:
            kept.append(max(group, key=lambda obs: (obs.quality, obs.first_mate)))
            dropped[Exclusion.OVERLAPPING_MATE.value] += len(group) - 1
        else:
            dropped[Exclusion.DISCORDANT_MATES.value] += len(group)
    return kept, dropped


@dataclass(frozen=True)
class PileupCounts:
    """The tally at the site after filtering (each fragment once)."""

    a: int = 0
    c: int = 0
    g: int = 0
    t: int = 0
    n: int = 0
    deletions: int = 0
    reads_overlapping: int = 0  # reads fetched over the site before any filter
    excluded: Mapping[str, int] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        """Counted fragments at the site: A + C + G + T + N + deletions."""
        return self.a + self.c + self.g + self.t + self.n + self.deletions

    @property
    def other_bases(self) -> int:
        """Counted bases that are neither A nor G (C, T, N)."""
        return self.c + self.t + self.n

    @property
    def allele_balance(self) -> float | None:
        """Fraction G among the A and G reads (None without any)."""
        total = self.a + self.g
        return round(self.g / total, 4) if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bases": {"A": self.a, "C": self.c, "G": self.g, "T": self.t, "N": self.n},
            "deletions": self.deletions,
            "reads_overlapping": self.reads_overlapping,
            "excluded": {key: self.excluded[key] for key in sorted(self.excluded)},
        }


def tally(outcomes: Iterable[Observation | Exclusion]) -> PileupCounts:
    """Merge mates and count bases, deletions and exclusions."""
    observations: list[Observation] = []
    excluded: Counter[str] = Counter()
    total = 0
    for outcome in outcomes:
        total += 1
        if isinstance(outcome, Exclusion):
            excluded[outcome.value] += 1
        else:
            observations.append(outcome)
    kept, dropped = merge_mates(observations)
    excluded.update(dropped)
    bases = Counter(obs.base for obs in kept)
    return PileupCounts(
        a=bases["A"],
        c=bases["C"],
        g=bases["G"],
        t=bases["T"],
        n=bases["N"],
        deletions=bases["-"],
        reads_overlapping=total,
        excluded=dict(excluded),
    )


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Likelihoods:
    """log10 likelihoods of A/A, A/G, G/G given the A/G/other counts."""

    log10: tuple[float, float, float]

    @property
    def best(self) -> str:
        return GENOTYPES[max(range(3), key=lambda i: (self.log10[i], -i))]

    @property
    def gq(self) -> int:
        """Phred-scaled ratio of the best to the second-best genotype, capped at 99."""
        ordered = sorted(self.log10, reverse=True)
        return min(GQ_CAP, round(10 * (ordered[0] - ordered[1])))

    @property
    def pl(self) -> tuple[int, int, int]:
        """Phred-scaled likelihoods normalised to 0 for the best genotype (as VCF PL)."""
        top = max(self.log10)
        return tuple(round(10 * (top - value)) for value in self.log10)  # type: ignore[return-value]


def genotype_likelihoods(a: int, g: int, other: int, error_rate: float) -> Likelihoods:
    """Multinomial likelihood of the counts under each diploid genotype.

    A read shows the allele it came from with probability 1 - e, and each of the
    three other bases with probability e/3. For A/A: P(A) = 1 - e, P(G) = e/3,
    P(C or T) = 2e/3; G/G mirrors it; A/G draws either allele with probability 1/2,
    so P(A) = P(G) = 1/2 - e/3. The multinomial coefficient is the same for every
    genotype and is left out. No population prior is used (flat prior).
    """
    e = error_rate
    p_other = math.log10(2 * e / 3)
    probs = (
        (math.log10(1 - e), math.log10(e / 3)),  # A/A
        (math.log10(0.5 - e / 3), math.log10(0.5 - e / 3)),  # A/G
        (math.log10(e / 3), math.log10(1 - e)),  # G/G
    )
    values = tuple(a * pa + g * pg + other * p_other for pa, pg in probs)
    return Likelihoods(values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PileupAssessment:
    """Outcome of the genotype rules on a pileup (before it becomes a :class:`Call`)."""

    status: str  # a pgx_report.contracts.call.Status value
    genotype: str | None  # only when called
    likely_genotype: str | None  # the best of the three whatever the status (None: no A/G read)
    gq: int | None
    pl: tuple[int, int, int] | None
    reason_codes: tuple[str, ...]
    reasons: tuple[str, ...]


def assess_pileup(
    counts: PileupCounts, options: PileupOptions, thresholds: Thresholds
) -> PileupAssessment:
    """Apply the genotype rules to the counts. Never turns missing evidence into A/A.

    The reason codes and the status each forces are the VCF caller's (docs/calling.md):
    ABSENT -> not_covered; SPANNING_DELETION, UNEXPECTED_ALT -> no_call; LOW_DEPTH,
    LOW_GQ -> failed_qc; ALLELE_BALANCE_SKEW is a warning.
    """
    if counts.depth == 0 and counts.reads_overlapping == 0:
        return PileupAssessment(
            Status.NOT_COVERED.value,
            None,
            None,
            None,
            None,
            (Reason.ABSENT.value,),
            ("No read in the alignment file covers the site; absence is not evidence of A/A.",),
        )
    informative = counts.a + counts.g
    lik = (
        genotype_likelihoods(counts.a, counts.g, counts.c + counts.t, options.error_rate)
        if informative
        else None
    )
    found: dict[Reason, str] = {}
    depth = counts.depth
    if depth and counts.deletions / depth > options.max_other_fraction:
        found[Reason.SPANNING_DELETION] = (
            f"{counts.deletions} of {depth} counted reads carry a deletion over the site: "
            "neither A nor G is present on that chromosome."
        )
    if depth and counts.other_bases / depth > options.max_other_fraction:
        found[Reason.UNEXPECTED_ALT] = (
            f"{counts.other_bases} of {depth} counted reads show a base other than A or G "
            f"(C {counts.c}, T {counts.t}, N {counts.n}): wrong build, strand, or another allele."
        )
    if thresholds.min_depth > 0 and depth < thresholds.min_depth:
        found[Reason.LOW_DEPTH] = (
            f"The read depth after filtering is {depth}; at least {thresholds.min_depth} "
            "is required."
        )
    if (
        lik is not None
        and thresholds.min_gq > 0
        and lik.gq < thresholds.min_gq
        and Reason.LOW_DEPTH not in found
    ):
        found[Reason.LOW_GQ] = (
            f"The genotype quality (GQ) is {lik.gq}; at least {thresholds.min_gq} is required."
        )
    if lik is None and not found:  # only reachable with --min-depth 0: still no evidence
        found[Reason.LOW_DEPTH] = "No A or G read at the site after filtering."
    balance = counts.allele_balance
    low = thresholds.het_min_balance
    if (
        lik is not None
        and lik.best == "A/G"
        and balance is not None
        and not low <= balance <= 1 - low
    ):
        found[Reason.ALLELE_BALANCE_SKEW] = (
            f"Heterozygous call with a skewed allele balance: {counts.g} G of {informative} "
            f"A+G reads (G fraction {balance}); consider confirming."
        )
    codes = [code for code in Reason if code in found]  # the caller's order
    status = status_for(codes)
    likely = lik.best if lik else None
    return PileupAssessment(
        status=status.value,
        genotype=likely if status is Status.CALLED else None,
        likely_genotype=likely,
        gq=lik.gq if lik else None,
        pl=lik.pl if lik else None,
        reason_codes=tuple(code.value for code in codes),
        reasons=tuple(found[code] for code in codes),
    )


# --------------------------------------------------------------------------- I/O


@dataclass(frozen=True)
class AlignmentHeader:
    """What the caller needs from a BAM/CRAM header."""

    format: str  # bam | cram
    contigs: tuple[tuple[str, int], ...]  # (@SQ SN, LN) in header order
    md5: Mapping[str, str]  # @SQ M5 where present
    assemblies: Mapping[str, str]  # @SQ AS where present
    uris: Mapping[str, str]  # @SQ UR (the reference FASTA) where present
    read_groups: Mapping[str, str | None]  # @RG ID -> SM
    index: str  # bai | csi | crai | none

    @property
    def samples(self) -> tuple[str, ...]:
        return tuple(sorted({sm for sm in self.read_groups.values() if sm}))


def choose_sample(path: str | Path, header: AlignmentHeader, requested: str | None) -> str:
    """The sample to call: @RG SM, or ``--sample`` (which must be one of them if any)."""
    samples = header.samples
    if requested is not None:
        if samples and requested not in samples:
            raise UnknownSampleError(
                path,
                f"sample {requested!r} is not in the @RG SM tags (samples: {', '.join(samples)})",
            )
        return requested
    if not samples:
        raise InputError(
            path, "no @RG line with an SM (sample) tag in the header; name the sample with --sample"
        )
    if len(samples) > 1:
        raise InputError(
            path,
            f"the @RG lines name {len(samples)} samples ({', '.join(samples)}); "
            "choose one with --sample",
        )
    return samples[0]


def _index_kind(path: Path, fmt: str) -> str:
    """``bai``/``csi``/``crai`` beside the file (``x.bam.bai`` or ``x.bai``), else ``none``.

    An index older than the data is refused (stale: it may point at the wrong reads).
    """
    index = index_path(path, fmt)
    return index.suffix.lstrip(".") if index is not None else "none"


def index_path(path: Path, fmt: str) -> Path | None:
    """The index htslib uses for ``path`` (see :func:`_index_kind`), or None."""
    candidates = (
        [path.with_name(path.name + ".crai")]
        if fmt == "cram"
        else [
            path.with_name(path.name + ".bai"),
            path.with_suffix(".bai"),
            path.with_name(path.name + ".csi"),
        ]
    )
    for index in candidates:
        if index.exists():
            if index.stat().st_mtime_ns < path.stat().st_mtime_ns:
                tool = "samtools index"
                raise InputError(
                    index,
                    f"index is older than {path.name} (stale); re-create it with "
                    f"`{tool} {path.name}`",
                )
            return index
    return None


@contextlib.contextmanager
def _no_network_reference_lookup() -> Iterator[None]:
    """Stop htslib from fetching CRAM references from the EBI server (nothing leaves the machine).

    With ``REF_PATH`` unset or empty htslib falls back to an https URL; pointing it at an
    empty local folder keeps every reference lookup on this machine.
    """
    with tempfile.TemporaryDirectory(prefix="pgx-report-refpath-") as empty:
        saved = {key: os.environ.get(key) for key in ("REF_PATH", "REF_CACHE")}
        os.environ["REF_PATH"] = empty
        os.environ.pop("REF_CACHE", None)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextlib.contextmanager
def open_alignment(
    path: str | Path, fmt: str, reference: str | Path | None
) -> Iterator[pysam.AlignmentFile]:
    """Open a BAM/CRAM with pysam, turning its errors into :class:`InputError`."""
    import pysam

    pysam.set_verbosity(0)
    if fmt == "cram" and reference is None:
        raise UsageError(
            path, "CRAM input needs the reference it was written with: add --reference FASTA"
        )
    with _no_network_reference_lookup():
        try:
            handle = pysam.AlignmentFile(
                str(path),
                "rc" if fmt == "cram" else "rb",
                reference_filename=str(reference) if fmt == "cram" and reference else None,
                check_sq=False,
            )
        except FileNotFoundError:
            raise InputError(path, "file not found") from None
        except (OSError, ValueError) as exc:
            message = str(exc)
            if "truncat" in message.lower() or "EOF" in message:
                raise InputError(
                    path, f"{fmt.upper()} file is truncated (no end-of-file marker block)"
                ) from None
            raise InputError(path, f"cannot read {fmt.upper()}: {message}") from None
        try:
            yield handle
        finally:
            handle.close()


def read_alignment_header(
    path: str | Path, handle: pysam.AlignmentFile, fmt: str
) -> AlignmentHeader:
    header = handle.header.to_dict()
    contigs: list[tuple[str, int]] = []
    md5: dict[str, str] = {}
    assemblies: dict[str, str] = {}
    uris: dict[str, str] = {}
    for line in header.get("SQ", []):
        name = str(line.get("SN", ""))
        contigs.append((name, int(line.get("LN", 0))))
        if "M5" in line:
            md5[name] = str(line["M5"]).lower()
        if "AS" in line:
            assemblies[name] = str(line["AS"])
        if "UR" in line:
            uris[name] = str(line["UR"])
    if not contigs:
        raise InputError(
            path, "the header has no @SQ lines (unaligned reads?): nothing to call from"
        )
    groups: dict[str, str | None] = {}
    for line in header.get("RG", []):
        sm = line.get("SM")
        groups[str(line.get("ID", ""))] = str(sm) if sm is not None else None
    return AlignmentHeader(
        format=fmt,
        contigs=tuple(contigs),
        md5=md5,
        assemblies=assemblies,
        uris=uris,
        read_groups=groups,
        index=_index_kind(Path(path), fmt),
    )


def _reads_over_site(
    path: str | Path, handle: pysam.AlignmentFile, header: AlignmentHeader, chrom: str, site0: int
) -> Iterator[pysam.AlignedSegment]:
    if header.index != "none":
        try:
            yield from handle.fetch(chrom, site0, site0 + 1)
            return
        except ValueError as exc:
            raise InputError(path, f"cannot use the index: {exc}") from None
    # No index: scan from the start; stop early when the file is coordinate-sorted.
    log.warning("%s: no index (.bai/.csi/.crai) found: reading the file from the start", path)
    sorted_by_coordinate = handle.header.to_dict().get("HD", {}).get("SO") == "coordinate"
    tid = handle.get_tid(chrom)
    for read in handle.fetch(until_eof=True):
        if read.reference_id == tid:
            if read.reference_start > site0:
                if sorted_by_coordinate:
                    return
                continue
            if read.reference_end is not None and read.reference_end > site0:
                yield read
        elif sorted_by_coordinate and tid >= 0 and read.reference_id > tid:
            return


def pileup_site(
    path: str | Path,
    handle: pysam.AlignmentFile,
    header: AlignmentHeader,
    chrom: str,
    pos: int,
    options: PileupOptions,
    sample: str | None = None,
) -> PileupCounts:
    """Count what the reads show at 1-based ``chrom:pos`` (reads of ``sample`` only)."""
    site0 = pos - 1
    wanted_groups: set[str] | None = None
    if sample is not None and header.samples:
        wanted_groups = {rg for rg, sm in header.read_groups.items() if sm == sample}
    outcomes: list[Observation | Exclusion] = []
    try:
        for read in _reads_over_site(path, handle, header, chrom, site0):
            if wanted_groups is not None and (
                not read.has_tag("RG") or str(read.get_tag("RG")) not in wanted_groups
            ):
                outcomes.append(Exclusion.OTHER_SAMPLE)
                continue
            outcomes.append(
                observe_read(
                    name=read.query_name or "",
                    flag=read.flag,
                    mapping_quality=read.mapping_quality,
                    reference_start=read.reference_start,
                    cigar=read.cigartuples or (),
                    sequence=read.query_sequence,
                    qualities=read.query_qualities,
                    site0=site0,
                    options=options,
                )
            )
    except OSError as exc:
        where = f"{chrom}:{pos}"
        if header.format == "cram":
            raise InputError(
                path,
                f"cannot decode the CRAM reads at {where} with the given --reference "
                "(not the FASTA the CRAM was written with?)",
            ) from None
        raise InputError(path, f"cannot read the alignments at {where}: {exc}") from None
    return tally(outcomes)


# --------------------------------------------------------------------------- the call


def _sam_wording(text: str) -> str:
    """Build evidence is worded for VCF headers; say it the way a SAM header does."""
    text = text.replace(
        "no ##contig line for chromosome 6 with a length, no assembly tag, no ##reference",
        "no @SQ line for chromosome 6, so no length, AS or UR tag",
    )
    text = re.sub(r"##contig (\S+) length=(\d+)", r"@SQ SN:\1 LN:\2", text)
    text = re.sub(r"##contig (\S+) assembly=", r"@SQ SN:\1 AS:", text)
    text = re.sub(r"##contig (\S+)", r"@SQ SN:\1", text)
    return text.replace("##reference=", "@SQ UR:")


def detect_alignment_build(
    path: str | Path, header: AlignmentHeader, override: str | None
) -> BuildDetection:
    """The VCF caller's build rules (pgx_report.genotype.genome_build) applied to the @SQ lines."""
    from pgx_report.errors import BuildError
    from pgx_report.genotype.genome_build import BuildDetection, ContigLine, detect_build

    contigs = [
        ContigLine(name, length or None, header.assemblies.get(name))
        for name, length in header.contigs
    ]
    chr6 = {alias for coords in rs1799971().builds for alias in coords.contig_aliases}
    references = [uri for name, uri in header.uris.items() if name in chr6]
    try:
        found = detect_build(path, contigs, references, override)
    except BuildError as err:
        raise BuildError(path, _sam_wording(err.message)) from None
    return BuildDetection(
        found.build, found.method, tuple(_sam_wording(item) for item in found.evidence)
    )


def alignment_identity(
    path: Path, fmt: str, header: AlignmentHeader, chrom: str, pos: int, full: bool
) -> Identity:
    """The input's identity: the region digest of what a fetch at the site reads through
    the index (header, the site's chunks or containers, end marker); the whole-file SHA-256
    for an unindexed file (read from its start) or with ``full``."""
    index = index_path(path, fmt)
    whole = digest.whole_file(path, md5=digest.wants_md5(path)) if full else None
    ranges = None
    if index is not None:
        number = next((i for i, (name, _) in enumerate(header.contigs) if name == chrom), None)
        try:
            if fmt == "cram":
                ranges = [] if number is None else digest.crai_ranges(path, index, number, pos)
            else:
                ranges = digest.binning_index_ranges(
                    path, index, [(chrom, number)], pos, digest.bam_header_length
                )
        except (ValueError, struct.error, OSError, EOFError, zlib.error) as exc:
            log.info("%s: cannot tell the ranges read (%s): hashing the whole file", path, exc)
    return digest.identify(path, ranges, index, whole)


def call_alignment(
    path: str | Path,
    *,
    fmt: str,
    sample: str | None = None,
    build: str | None = None,
    thresholds: Thresholds | None = None,
    options: PileupOptions | None = None,
    reference: str | Path | None = None,
    full_digest: bool = False,
) -> Call:
    """Call rs1799971 for one sample of a BAM/CRAM (reads of that sample's read groups).

    ``full_digest``: also hash the whole file (provenance; docs/calling.md)."""
    from pgx_report.genotype.reference import (
        check_cram_reference,
        indexed_fasta,
        reference_provenance,
    )

    thresholds = thresholds or Thresholds()
    options = options or PileupOptions()

    with contextlib.ExitStack() as stack:
        usable = stack.enter_context(indexed_fasta(reference)) if reference else None
        handle = stack.enter_context(open_alignment(path, fmt, usable))
        header = read_alignment_header(path, handle, fmt)
        name = choose_sample(path, header, sample)
        detection = detect_alignment_build(path, header, build)
        coords = rs1799971().in_build(detection.build)
        present = [n for n, _ in header.contigs if n in coords.contig_aliases]
        chrom = present[0] if present else coords.contig_aliases[0]
        reference_info = None
        if usable is not None and reference is not None:
            reference_info = reference_provenance(
                reference, build=detection.build.value, chrom=chrom, usable=usable
            )
            if fmt == "cram" and present:
                check_cram_reference(
                    usable, contig=chrom, header_md5=header.md5.get(chrom), shown=reference
                )
        counts = (
            pileup_site(path, handle, header, chrom, coords.pos, options, name)
            if present
            else PileupCounts()
        )
    result = assess_pileup(counts, options, thresholds)
    reasons = result.reasons
    if not present:
        reasons = (f"The alignment header has no {chrom} (@SQ); the site is not covered.",)
    source = InputFile(
        path=path,
        identity=alignment_identity(Path(path), fmt, header, chrom, coords.pos, full_digest),
        format=fmt,
        index=header.index,
    )
    qc = SiteQc(
        source="alignment",
        depth=counts.depth,
        depth_used=counts.depth,
        gq=result.gq,
        allele_depths=[counts.a, counts.g],
        allele_balance=counts.allele_balance,
        pileup={
            **counts.to_dict(),
            "likely_genotype": result.likely_genotype,
            "pl": list(result.pl) if result.pl else None,
        },
    )
    variant = rs1799971().describe(detection.build, chrom)
    return Call(
        sample=name,
        variant=variant,
        status=Status(result.status),
        genotype=result.genotype,
        carrier=None if result.genotype is None else result.genotype != "A/A",
        gt=GT_STRINGS.get(result.likely_genotype or ""),
        reason_codes=result.reason_codes,
        reasons=reasons,
        qc=qc.to_dict(),
        provenance=provenance(
            source,
            detection,
            thresholds,
            pileup=options.to_dict(),
            reference=reference_info,
        ),
    )
