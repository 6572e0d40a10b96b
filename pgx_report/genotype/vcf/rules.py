"""Genotype calling at rs1799971: records at the site + thresholds -> :class:`Call`.

The rules (documented for users in ``docs/calling.md``) work on numpy arrays over
samples, so one sample and 100,000 samples go through the same code:

1. Every record whose span covers the site is a candidate: variant records starting at
   the site, variant records starting upstream (deletions, MNPs), and reference blocks
   (gVCF ``<NON_REF>``/``<*>`` records with ``END``). No candidate: ``not_covered``.
2. Each allele of each record is mapped to the base it puts at the site: A, G, another
   base, deleted (``*`` or an upstream deletion), symbolic (``<NON_REF>``) or unknown.
   A block's REF is the base at the block start, so its REF allele means "the reference
   base", A. A record whose REF at the site is not A is ``ref_mismatch``.
3. Per sample one record decides: the one where the sample carries a non-reference
   allele; if none, the first with a called allele (variant records before blocks).
   Non-reference alleles in more than one record cannot be combined safely: no call.
4. Genotype problems (no call, half call, ploidy, ``*``, other alleles) give
   ``no_call``; QC problems (FILTER, depth, GQ, allele depths) give ``failed_qc`` with the
   observed ``gt`` kept. Only a clean diploid A/G genotype that passes QC is ``called``.

A genotype is never invented: anything short of that is reported with its reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pgx_report.contracts.call import Call, Reason, Status, Thresholds, status_for
from pgx_report.errors import UsageError, VcfError
from pgx_report.files.digest import identify, wants_md5, whole_file
from pgx_report.files.sniff import Container, InputFormat
from pgx_report.genotype.genome_build import detect_build
from pgx_report.genotype.provenance import InputFile, SiteQc, provenance
from pgx_report.genotype.site import Build, rs1799971
from pgx_report.genotype.vcf.grouped import CallBatch, group_rows
from pgx_report.genotype.vcf.precheck import allele_problem
from pgx_report.genotype.vcf.reader import (
    Header,
    SiteRecord,
    VcfReader,
    check_sample_names,
    describe_samples,
    open_vcf,
    site_record_summary,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- alleles

# What an allele puts at the site.
A, G, OTHER, DELETED, SYMBOLIC, UNKNOWN, UNDEFINED = 0, 1, 2, 3, 4, 5, 6
MISSING, NO_ALLELE = -1, -2


def _allele_base(ref: str, allele: str, offset: int) -> int:
    if allele == "*":
        return DELETED
    if allele.startswith("<") and allele in ("<NON_REF>", "<*>"):
        return SYMBOLIC
    if not allele.isalpha():
        return UNKNOWN  # other symbolic alleles, breakends
    allele, ref = allele.upper(), ref.upper()
    if offset == 0 or len(allele) == len(ref):
        base = allele[offset] if offset < len(allele) else None
    elif allele[: offset + 1] == ref[: offset + 1]:
        base = allele[offset]  # shared prefix: the site base is unchanged
    elif len(allele) < len(ref) and ref.startswith(allele):
        return DELETED  # anchored deletion that removes the site
    else:
        return UNKNOWN
    return {"A": A, "G": G, None: UNKNOWN}.get(base, OTHER)


def is_reference_block(record: SiteRecord) -> bool:
    """A record with no real ALT allele (gVCF block, or an ALT '.' reference record)."""
    return all(alt in ("<NON_REF>", "<*>") for alt in record.alts)


def allele_table(record: SiteRecord, site_pos: int) -> npt.NDArray[np.int8]:
    """Site base of each allele index of ``record`` (index 0 = REF)."""
    offset = site_pos - record.pos
    table = [A]  # REF means "the reference base", which is A (REF_MISMATCH checked apart)
    table += [_allele_base(record.ref, alt, offset) for alt in record.alts]
    return np.array(table, dtype=np.int8)


def ref_base_mismatch(record: SiteRecord, site_pos: int, site_ref: str) -> str | None:
    """The record's REF base at the site when it is checkable and not ``site_ref``."""
    offset = site_pos - record.pos
    if offset < len(record.ref):
        base = record.ref[offset].upper()
        if base != site_ref:
            return base
    return None


def site_codes(record: SiteRecord, site_pos: int) -> npt.NDArray[np.int8]:
    """(n, ploidy) site-base codes of every selected sample's GT in ``record``."""
    table = allele_table(record, site_pos)
    alleles = record.samples.alleles
    safe = np.clip(alleles, 0, len(table) - 1)
    codes = np.where(alleles >= 0, table[safe], alleles).astype(np.int8)
    codes[alleles >= len(table)] = UNDEFINED  # an allele index the record does not define
    return codes


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class CallContext:
    """Everything about a call that is the same for every sample of one file."""

    variant: Mapping[str, Any]
    provenance: Mapping[str, Any]
    thresholds: Thresholds
    site_pos: int
    header_imputation: tuple[str, ...] = ()
    contig_present: bool = True


def _order(records: Sequence[SiteRecord], site_pos: int) -> list[SiteRecord]:
    """Variant records at the site, then upstream variant records, then blocks."""

    return sorted(records, key=lambda r: _rank(r, site_pos))  # stable: file order within a rank


def _rank(record: SiteRecord, site_pos: int) -> int:
    if is_reference_block(record):
        return 2
    return 0 if record.pos == site_pos else 1


def _pad(codes: Sequence[npt.NDArray[np.int8]]) -> npt.NDArray[np.int8]:
    width = max(c.shape[1] for c in codes)
    padded = [
        np.pad(c, ((0, 0), (0, width - c.shape[1])), constant_values=NO_ALLELE) for c in codes
    ]
    return np.stack(padded)


def _allele_reads(record: SiteRecord, site_pos: int, base: int) -> npt.NDArray[np.float64]:
    ad = record.samples.ad
    n = record.samples.alleles.shape[0]
    if ad is None:
        return np.full(n, np.nan)
    mask = allele_table(record, site_pos) == base
    return np.asarray(ad[:, mask].sum(axis=1), dtype=np.float64)


def _total_reads(record: SiteRecord) -> npt.NDArray[np.float64]:
    ad = record.samples.ad
    if ad is None:
        return np.full(record.samples.alleles.shape[0], np.nan)
    with np.errstate(invalid="ignore"):
        total = np.where(np.isnan(ad).all(axis=1), np.nan, np.nansum(ad, axis=1))
    return np.asarray(total, dtype=np.float64)


def _record_imputed(record: SiteRecord) -> bool:
    return bool(record.info_flags) or any(k in record.format_keys for k in ("DS", "GP"))


@dataclass(frozen=True)
class _Choice:
    """Per sample, the record that decides its call (rule 3 of the module docstring)."""

    ordered: Sequence[SiteRecord]  # variant records at the site, upstream, then blocks
    carrying: npt.NDArray[np.bool_]  # (R, n): the record carries a non-reference allele
    n_carrying: npt.NDArray[np.intp]  # (n,)
    chosen: npt.NDArray[np.intp]  # (n,): index into ``ordered`` (0 when absent)
    absent: npt.NDArray[np.bool_]  # (n,): no record says anything about the sample
    codes: npt.NDArray[np.int8]  # (n, P): site-base codes of the GT in the chosen record

    def per_sample(self, values: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """Each sample's value from its chosen record (``values``: one array per record)."""
        return np.stack(values)[self.chosen, np.arange(len(self.chosen))]

    def per_record(self, values: Sequence[bool]) -> npt.NDArray[np.bool_]:
        """Each sample's value of a record-level property of its chosen record."""
        return np.asarray(values, dtype=np.bool_)[self.chosen]


def _contradicting_duplicates(
    ordered: Sequence[SiteRecord], stacked: npt.NDArray[np.int8]
) -> npt.NDArray[np.intp]:
    """(n,) 1 where two records for the same change give the sample different
    genotypes (their site codes, order-free), else 0. Agreeing duplicates stand."""
    n = stacked.shape[1]
    clash = np.zeros(n, dtype=np.bool_)
    groups: dict[tuple[int, str, tuple[str, ...]], list[int]] = {}
    for k, record in enumerate(ordered):
        key = (record.pos, record.ref.upper(), tuple(a.upper() for a in record.alts))
        groups.setdefault(key, []).append(k)
    for members in groups.values():
        if len(members) < 2:
            continue
        codes = np.sort(stacked[members], axis=2)  # (m, n, P): phase and order ignored
        clash |= (codes != codes[0]).any(axis=2).any(axis=0)
    return clash.astype(np.intp)


def _choose(ordered: Sequence[SiteRecord], site: int, n: int) -> _Choice:
    stacked = _pad([site_codes(r, site) for r in ordered])  # (R, n, P)
    upstream = np.array([_rank(r, site) == 1 for r in ordered])[:, None]  # (R, 1)
    carrying = np.asarray((stacked >= 1).any(axis=2))  # (R, n)
    # A '*' at the site and the upstream deletion it stands for are one event, not two.
    star_at_site = ((stacked == DELETED).any(axis=2) & ~upstream).any(axis=0)
    carrying &= ~(upstream & star_at_site[None, :])
    # Hom-ref at an upstream record says nothing about this SNP: those records only
    # count for samples that carry their (deleting) allele.
    eligible = (np.asarray((stacked >= 0).any(axis=2)) & ~upstream) | carrying
    n_carrying = carrying.sum(axis=0)
    # Duplicate records (same POS, REF, ALT) that give a sample different genotypes
    # contradict each other: counted as a second carrying record (MULTIPLE_RECORDS).
    n_carrying = n_carrying + _contradicting_duplicates(ordered, stacked)
    fallback = int(np.argmax(~upstream[:, 0])) if (~upstream).any() else -1
    chosen = np.where(
        n_carrying > 0,
        carrying.argmax(axis=0),
        np.where(eligible.any(axis=0), eligible.argmax(axis=0), fallback),
    )
    absent = chosen < 0
    chosen[absent] = 0
    codes = stacked[chosen, np.arange(n)]  # (n, P)
    return _Choice(ordered, carrying, n_carrying, chosen, absent, codes)


@dataclass(frozen=True)
class _Values:
    """Per-sample values (n,) read from each sample's chosen record."""

    block: npt.NDArray[np.bool_]
    dp: npt.NDArray[np.float64]
    min_dp: npt.NDArray[np.float64]
    gq: npt.NDArray[np.float64]
    gp: npt.NDArray[np.float64]
    reads_a: npt.NDArray[np.float64]
    reads_g: npt.NDArray[np.float64]
    filtered: npt.NDArray[np.bool_]
    imputed: npt.NDArray[np.bool_]
    gate_depth: npt.NDArray[np.float64]  # the depth the thresholds apply to
    g_fraction: npt.NDArray[np.float64]  # G / (A + G) reads, NaN without any
    n_g: npt.NDArray[np.intp]  # G alleles in the GT


def _site_values(choice: _Choice, ctx: CallContext) -> _Values:
    site = ctx.site_pos
    ordered = choice.ordered
    block = choice.per_record([is_reference_block(r) for r in ordered])
    dp = choice.per_sample([r.samples.dp for r in ordered])
    min_dp = choice.per_sample([r.samples.min_dp for r in ordered])
    reads_a = choice.per_sample([_allele_reads(r, site, A) for r in ordered])
    reads_g = choice.per_sample([_allele_reads(r, site, G) for r in ordered])
    has_ad = choice.per_record([r.samples.ad is not None for r in ordered])
    # Blocks are gated on MIN_DP (the lowest depth in the block) when given.
    gate_depth = np.where(block & ~np.isnan(min_dp), min_dp, dp)
    all_reads = choice.per_sample([_total_reads(r) for r in ordered])
    gate_depth = np.where(np.isnan(gate_depth) & has_ad, all_reads, gate_depth)
    total = reads_a + reads_g
    with np.errstate(invalid="ignore", divide="ignore"):
        g_fraction = np.where(total > 0, reads_g / total, np.nan)
    imputed = choice.per_record([_record_imputed(r) for r in ordered])
    return _Values(
        block=block,
        dp=dp,
        min_dp=min_dp,
        gq=choice.per_sample([r.samples.gq for r in ordered]),
        gp=choice.per_sample([r.samples.gp_max for r in ordered]),
        reads_a=reads_a,
        reads_g=reads_g,
        filtered=choice.per_record([any(f != "PASS" for f in r.filters) for r in ordered]),
        imputed=imputed | bool(ctx.header_imputation),
        gate_depth=gate_depth,
        g_fraction=g_fraction,
        n_g=(choice.codes == G).sum(axis=1),
    )


def _reason_flags(
    choice: _Choice, v: _Values, ctx: CallContext
) -> tuple[dict[Reason, npt.NDArray[np.bool_]], str | None]:
    """Which reason applies to which sample (n,) and the REF base when it is not A."""
    th = ctx.thresholds
    codes = choice.codes
    n = codes.shape[0]
    # Genotype shape.
    ploidy = (codes != NO_ALLELE).sum(axis=1)
    n_missing = (codes == MISSING).sum(axis=1)
    nocall = (ploidy == 0) | (n_missing == ploidy)
    partial = ~nocall & (n_missing > 0)
    bad_ploidy = ~nocall & (ploidy != 2)
    deleted = (codes == DELETED).any(axis=1)
    other = np.isin(codes, (OTHER, SYMBOLIC, UNKNOWN)).any(axis=1)
    undefined = (codes == UNDEFINED).any(axis=1)
    multiple = choice.n_carrying > 1
    clean_gt = ~(nocall | partial | bad_ploidy | deleted | other | undefined | multiple)

    # Quality.
    no_reads_qc = v.imputed & np.isnan(v.gate_depth) & np.isnan(v.gq)
    low_depth = ~no_reads_qc & (th.min_depth > 0) & ~(v.gate_depth >= th.min_depth)
    low_gq = ~no_reads_qc & (th.min_gq > 0) & ~(v.gq >= th.min_gq)
    low_gp = no_reads_qc & ~np.isnan(v.gp) & (v.gp < th.min_gp)
    total = v.reads_a + v.reads_g
    ad_known = clean_gt & (total > 0)
    n_g, g_fraction = v.n_g, v.g_fraction
    hom_a, het, hom_g = ad_known & (n_g == 0), ad_known & (n_g == 1), ad_known & (n_g == 2)
    ad_conflict = (
        (hom_a & (g_fraction > th.hom_max_other))
        | (hom_g & (1 - g_fraction > th.hom_max_other))
        | (het & ((v.reads_a == 0) | (v.reads_g == 0)))
    )
    skew = (
        het
        & ~ad_conflict
        & ((g_fraction < th.het_min_balance) | (g_fraction > 1 - th.het_min_balance))
    )
    site = ctx.site_pos
    ref_bases = [ref_base_mismatch(r, site, str(ctx.variant["ref"])) for r in choice.ordered]
    mismatch = next((b for b in ref_bases if b is not None), None)

    flags: dict[Reason, npt.NDArray[np.bool_]] = {
        Reason.REF_MISMATCH: np.full(n, mismatch is not None),
        Reason.NOCALL_GT: nocall,
        Reason.PARTIAL_GT: partial,
        Reason.UNEXPECTED_PLOIDY: bad_ploidy & ~partial,
        Reason.SPANNING_DELETION: ~nocall & deleted,
        Reason.UNEXPECTED_ALT: ~nocall & other,
        Reason.UNDEFINED_ALLELE: undefined,
        Reason.MULTIPLE_RECORDS: multiple,
        Reason.FILTERED: v.filtered,
        Reason.LOW_DEPTH: low_depth,
        Reason.LOW_GQ: low_gq,
        Reason.LOW_GP: low_gp,
        Reason.GVCF_BLOCK_LOW_QUALITY: v.block & (low_depth | low_gq),
        Reason.AD_CONFLICT: ad_conflict,
        Reason.ALLELE_BALANCE_SKEW: skew,
        Reason.IMPUTED: v.imputed,
    }
    if mismatch is not None:  # the record cannot be read at all: nothing else applies
        flags = {code: f & (code is Reason.REF_MISMATCH) for code, f in flags.items()}
    return flags, mismatch


def _group_keys(
    choice: _Choice, v: _Values, matrix: npt.NDArray[np.bool_]
) -> list[npt.NDArray[Any]]:
    """Every value a sample's call is made from (besides its name): samples with equal
    keys share one call, built once (pgx_report.genotype.vcf.grouped)."""
    ordered = choice.ordered
    n = len(choice.chosen)
    width = max(r.samples.alleles.shape[1] for r in ordered)
    alleles = choice.per_sample(
        [
            np.pad(
                r.samples.alleles,
                ((0, 0), (0, width - r.samples.alleles.shape[1])),
                constant_values=-2,
            )
            for r in ordered
        ]
    )
    phased = choice.per_sample([r.samples.phased for r in ordered])
    n_ad = max((r.samples.ad.shape[1] for r in ordered if r.samples.ad is not None), default=0)
    ad_rows = choice.per_sample(
        [
            np.full((n, n_ad + 1), np.nan)
            if r.samples.ad is None
            else np.pad(
                r.samples.ad, ((0, 0), (0, n_ad + 1 - r.samples.ad.shape[1])), constant_values=-1.0
            )
            for r in ordered
        ]
    )
    return [choice.absent, choice.chosen, matrix, choice.codes, choice.carrying.T, alleles,
            phased, ad_rows, v.block, v.gate_depth, v.dp, v.min_dp, v.gq, v.gp, v.g_fraction,
            v.n_g]  # fmt: skip


def _facts(
    choice: _Choice,
    v: _Values,
    i: int,
    summaries: Sequence[dict[str, Any]],
    mismatch: str | None,
) -> _Facts:
    k = int(choice.chosen[i])
    record = choice.ordered[k]
    row = record.samples
    return _Facts(
        record=record,
        summary=summaries[k],
        block=bool(v.block[i]),
        gt=_gt_string(row.alleles[i], bool(row.phased[i])),
        depth=_num(v.gate_depth[i]),
        dp=_num(v.dp[i]),
        min_dp=_num(v.min_dp[i]),
        gq=_num(v.gq[i]),
        gp=None if np.isnan(v.gp[i]) else float(v.gp[i]),
        ad=_allele_depths(row.ad, i),
        balance=None if np.isnan(v.g_fraction[i]) else round(float(v.g_fraction[i]), 4),
        phased=bool(row.phased[i]),
        n_g=int(v.n_g[i]),
        mismatch_base=mismatch,
        carrying=[choice.ordered[int(j)] for j in np.flatnonzero(choice.carrying[:, i])],
        codes=choice.codes[i],
    )


def call_records(
    records: Sequence[SiteRecord], samples: Sequence[str], ctx: CallContext
) -> CallBatch[Call]:
    """Apply the genotype rules to all ``samples`` at once (arrays, not per-record loops)."""
    n = len(samples)
    if not records:
        first, inverse = group_rows([np.zeros(n)], n)
        return CallBatch(samples, lambda i, name: _absent_call(name, ctx), first, inverse)
    ordered = _order(records, ctx.site_pos)
    choice = _choose(ordered, ctx.site_pos, n)
    values = _site_values(choice, ctx)
    flags, mismatch = _reason_flags(choice, values, ctx)
    matrix = np.stack([flags[code] for code in flags], axis=1)  # (n, codes)
    code_list = list(flags)
    summaries = [site_record_summary(r) for r in ordered]  # one per record, shared
    first, inverse = group_rows(_group_keys(choice, values, matrix), n)

    def make(i: int, name: str) -> Call:
        if choice.absent[i]:
            return _absent_call(name, ctx)
        codes_i = [code_list[k] for k in np.flatnonzero(matrix[i])]
        return _make_call(name, codes_i, _facts(choice, values, i, summaries, mismatch), ctx)

    return CallBatch(samples, make, first, inverse)


def _allele_depths(ad: npt.NDArray[np.float64] | None, i: int) -> list[int | None] | None:
    if ad is None or np.isnan(ad[i]).all():
        return None
    return [_num(x) for x in ad[i]]


def _num(value: float) -> int | None:
    return None if np.isnan(value) else int(value)


def _gt_string(alleles: npt.NDArray[np.int32], phased: bool) -> str | None:
    parts = ["." if a == MISSING else str(int(a)) for a in alleles if a != NO_ALLELE]
    if not parts:
        return None
    return ("|" if phased else "/").join(parts)


@dataclass(frozen=True)
class _Facts:
    record: SiteRecord
    summary: dict[str, Any]  # one dict per record, shared by its samples
    block: bool
    gt: str | None
    depth: int | None
    dp: int | None
    min_dp: int | None
    gq: int | None
    gp: float | None
    ad: list[int | None] | None
    balance: float | None
    phased: bool
    n_g: int
    mismatch_base: str | None
    carrying: list[SiteRecord]
    codes: npt.NDArray[np.int8]


_BASE_NAMES = {A: "A", G: "G", OTHER: "another base", DELETED: "*", SYMBOLIC: "<NON_REF>"}


def _sentence(code: Reason, f: _Facts, ctx: CallContext) -> str:
    th = ctx.thresholds
    where = f"{f.record.chrom}:{f.record.pos}"
    unit = "reference block" if f.block else "record"
    if code is Reason.REF_MISMATCH:
        return (
            f"The file's reference base at the site is {f.mismatch_base}, not A: wrong build "
            "or strand-flipped data; no genotype can be read."
        )
    if code is Reason.NOCALL_GT:
        return f"The genotype at the site is missing (GT {f.gt or 'absent'}) in the {unit}."
    if code is Reason.PARTIAL_GT:
        return f"Only one allele is called (GT {f.gt}); a half call is not a genotype."
    if code is Reason.UNEXPECTED_PLOIDY:
        return f"GT {f.gt} is not diploid; chromosome 6 needs two alleles."
    if code is Reason.SPANNING_DELETION:
        return f"A deletion covers the site (GT {f.gt} at {where}): neither A nor G is present."
    if code is Reason.UNEXPECTED_ALT:
        seen = sorted({_BASE_NAMES.get(int(c), "an unknown allele") for c in f.codes if c >= 0})
        return f"GT {f.gt} at {where} carries {', '.join(seen)} at the site, not only A or G."
    if code is Reason.UNDEFINED_ALLELE:
        n_alleles = 1 + len(f.record.alts)
        return (
            f"GT {f.gt} at {where} names an allele the record does not define (it has "
            f"{n_alleles} alleles, numbered 0 to {n_alleles - 1}): malformed record."
        )
    if code is Reason.MULTIPLE_RECORDS:
        places = ", ".join(f"{r.chrom}:{r.pos} {r.ref}>{','.join(r.alts)}" for r in f.carrying)
        if len(f.carrying) < 2:
            return (
                f"Duplicate records for the same change at the site ({places}) give "
                "different genotypes; they contradict each other."
            )
        return f"Non-reference alleles in more than one record at the site ({places})."
    if code is Reason.FILTERED:
        return f"The {unit} at {where} did not pass filters (FILTER {';'.join(f.record.filters)})."
    if code is Reason.LOW_DEPTH:
        shown = "not given" if f.depth is None else str(f.depth)
        label = (
            "minimum depth in the block (MIN_DP)"
            if f.block and f.min_dp is not None
            else ("read depth")
        )
        return f"The {label} is {shown}; at least {th.min_depth} is required."
    if code is Reason.LOW_GQ:
        shown = "not given" if f.gq is None else str(f.gq)
        return f"The genotype quality (GQ) is {shown}; at least {th.min_gq} is required."
    if code is Reason.LOW_GP:
        return f"The highest genotype probability (GP) is {f.gp}; at least {th.min_gp} is required."
    if code is Reason.GVCF_BLOCK_LOW_QUALITY:
        return "The gVCF reference block covering the site fails the quality thresholds."
    if code is Reason.AD_CONFLICT:
        return f"The allele depths {f.ad} contradict the genotype {f.gt}."
    if code is Reason.ALLELE_BALANCE_SKEW:
        return (
            f"Heterozygous call with a skewed allele balance (G fraction {f.balance}); "
            "consider confirming."
        )
    if code is Reason.IMPUTED:
        return "The genotype is imputed, not directly sequenced; confirm before clinical use."
    raise AssertionError(code)  # pragma: no cover


_GENOTYPES = ("A/A", "A/G", "G/G")


def _make_call(name: str, codes: Sequence[Reason], f: _Facts, ctx: CallContext) -> Call:
    status = status_for(codes)
    genotype = _GENOTYPES[f.n_g] if status is Status.CALLED else None
    record = f.record
    qc = SiteQc(
        source="reference_block" if f.block else "variant_record",
        record=f.summary,
        depth=f.dp,
        min_dp=f.min_dp,
        depth_used=f.depth,
        gq=f.gq,
        gp_max=f.gp,
        allele_depths=f.ad,
        allele_balance=f.balance,
        filter=list(record.filters) or ["."],
        qual=record.qual,
        phased=f.phased,
    ).to_dict()
    return Call(
        sample=name,
        variant=ctx.variant,
        status=status,
        genotype=genotype,
        carrier=None if genotype is None else f.n_g > 0,
        gt=f.gt,
        reason_codes=tuple(c.value for c in codes),
        reasons=tuple(_sentence(c, f, ctx) for c in codes),
        qc=qc,
        provenance=ctx.provenance,
    )


def _absent_call(name: str, ctx: CallContext) -> Call:
    chrom = ctx.variant["chrom"]
    if ctx.contig_present:
        text = f"No record covers {chrom}:{ctx.site_pos}; absence is not evidence of A/A."
    else:
        text = "The file has no chromosome 6 records at all; the site is not covered."
    return Call(
        sample=name,
        variant=ctx.variant,
        status=Status.NOT_COVERED,
        genotype=None,
        carrier=None,
        gt=None,
        reason_codes=(Reason.ABSENT.value,),
        reasons=(text,),
        qc=SiteQc(source="none").to_dict(),
        provenance=ctx.provenance,
    )


# --------------------------------------------------------------------------- files


def _site_contig(header: Header, aliases: Sequence[str], records: Sequence[SiteRecord]) -> str:
    if records:
        return records[0].chrom
    present = [a for a in aliases if a in header.contig_names]
    return present[0] if present else aliases[0]


def _call_site(
    path: str | Path,
    samples: Sequence[str] | None,
    build: str | Build | None,
    thresholds: Thresholds,
    reader: VcfReader | None,
    full_digest: bool,
) -> tuple[list[str], CallBatch[Call]]:
    reader = open_vcf(path, samples) if reader is None else reader
    header = reader.header
    check_sample_names(reader.path, header, reader.selected)
    # A file read to its end (plain gzip, unindexed BCF) gets its whole-file SHA-256; so does
    # any file with --full-digest. That hash takes longer than finding the site: it runs on
    # a second thread (hashlib releases the GIL) while the file is read.
    streamed = reader.info.index is None and reader.info.text_container in (None, Container.GZIP)
    with ThreadPoolExecutor(max_workers=1) as pool:
        file = Path(path)
        whole = None
        if full_digest or streamed:
            whole = pool.submit(whole_file, file, md5=full_digest and wants_md5(file))
        detection = detect_build(path, header.contigs, header.references, build)
        coords = rs1799971().in_build(detection.build)
        records = reader.records_overlapping(coords.contig_aliases, coords.pos)
        for record in records:
            problem = allele_problem(record.ref, record.alts)
            if problem is not None:
                where = f"record at {record.chrom}:{record.pos}"
                raise VcfError(path, f"{where}: malformed record: {problem}")
        chrom = _site_contig(header, coords.contig_aliases, records)
        ranges = reader.ranges_read(coords.contig_aliases, coords.pos)
        identity = identify(
            file, ranges, reader.info.index, whole.result() if whole is not None else None
        )
    ctx = CallContext(
        variant=rs1799971().describe(detection.build, chrom),
        provenance=provenance(
            InputFile(
                path=reader.info.path,
                identity=identity,
                format=reader.info.format,
                index=reader.info.index_kind,
                access=reader.access,
            ),
            detection,
            thresholds,
        ),
        thresholds=thresholds,
        site_pos=coords.pos,
        header_imputation=header.imputation,
        contig_present=not header.contigs or chrom in header.contig_names,
    )
    names = list(reader.selected)
    return names, call_records(records, names, ctx)


def _single_sample(reader: VcfReader, sample: str | None) -> str:
    path = reader.path
    samples = reader.header.samples
    if sample is not None:
        return sample  # open_vcf(path, [sample]) checks it exists
    if len(samples) == 1:
        return samples[0]
    if not samples:
        raise VcfError(path, "the file has no sample columns (sites-only VCF): nothing to call")
    raise UsageError(
        path,
        f"has {len(samples)} samples; choose one with --sample NAME or use --all-samples "
        f"({describe_samples(reader.header)})",
    )


def call_file(
    path: str | Path,
    *,
    sample: str | None = None,
    build: str | Build | None = None,
    thresholds: Thresholds = Thresholds(),
    input_format: InputFormat | None = None,
    full_digest: bool = False,
) -> Call:
    """Call one sample of a VCF/BCF/gVCF (the only sample, or ``sample``).

    ``input_format``: the file's format when already sniffed (it is not sniffed again).
    ``full_digest``: also hash the whole file (provenance; docs/calling.md)."""
    reader = open_vcf(path, input_format=input_format)  # opened and checked once
    name = _single_sample(reader, sample)
    _, calls = _call_site(path, [name], build, thresholds, reader.select([name]), full_digest)
    return calls[0]


def call_all_samples(
    path: str | Path,
    *,
    build: str | Build | None = None,
    thresholds: Thresholds = Thresholds(),
    full_digest: bool = False,
) -> CallBatch[Call]:
    """Call every sample of the file in one pass (arrays over samples).

    The result is a read-only sequence of calls, made in bulk: samples that share
    every value a call is made from share one call (see pgx_report.genotype.vcf.grouped)."""
    _, calls = _call_site(path, None, build, thresholds, None, full_digest)
    if not calls:
        raise VcfError(path, "the file has no sample columns (sites-only VCF): nothing to call")
    return calls
