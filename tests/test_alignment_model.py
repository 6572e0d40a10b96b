"""The pure core of the BAM/CRAM pileup caller: read filters, mates, likelihoods, genotype rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgx_report.contracts.call import Thresholds
from pgx_report.errors import UsageError
from pgx_report.genotype.pileup.alignment import (
    Exclusion,
    Observation,
    PileupCounts,
    PileupOptions,
    assess_pileup,
    genotype_likelihoods,
    locate_in_read,
    merge_mates,
    observe_read,
    tally,
)

M, INS, D, N, S = 0, 1, 2, 3, 4  # CIGAR operations
SITE0 = 1000
DEFAULTS = PileupOptions()


@pytest.mark.parametrize(
    ("start", "cigar", "expected"),
    [
        (980, [(M, 50)], ("base", 20)),
        (1000, [(M, 50)], ("base", 0)),
        (951, [(M, 50)], ("base", 49)),
        (950, [(M, 50)], ("outside", None)),
        (1001, [(M, 50)], ("outside", None)),
        (980, [(M, 20), (D, 1), (M, 29)], ("deletion", None)),
        (980, [(M, 19), (D, 2), (M, 29)], ("deletion", None)),
        (980, [(M, 20), (N, 500), (M, 30)], ("ref_skip", None)),
        (980, [(M, 10), (INS, 3), (M, 37)], ("base", 23)),  # insertion before the site shifts it
        (985, [(S, 5), (M, 45)], ("base", 20)),  # leading soft clip shifts the query index
        (1001, [(S, 21), (M, 29)], ("outside", None)),  # clipped base over the site: not aligned
        (960, [(M, 40), (S, 10)], ("outside", None)),  # trailing clip over the site
        (980, [(M, 20), (INS, 2), (M, 30)], ("base", 22)),  # insertion right before the site
    ],
)
def test_locate_in_read(
    start: int, cigar: list[tuple[int, int]], expected: tuple[str, int | None]
) -> None:
    assert locate_in_read(start, cigar, SITE0) == expected


def observe(**overrides: object) -> Observation | Exclusion:
    read: dict[str, object] = {
        "name": "r1",
        "flag": 0,
        "mapping_quality": 60,
        "reference_start": 980,
        "cigar": [(M, 50)],
        "sequence": "C" * 20 + "G" + "C" * 29,
        "qualities": [30] * 50,
        "site0": SITE0,
        "options": DEFAULTS,
    }
    read.update(overrides)
    return observe_read(**read)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, Observation("r1", "G", 30, True)),
        ({"flag": 0x400}, Exclusion.DUPLICATE),
        ({"flag": 0x100}, Exclusion.SECONDARY),
        ({"flag": 0x800}, Exclusion.SUPPLEMENTARY),
        ({"flag": 0x200}, Exclusion.QC_FAIL),
        ({"flag": 0x4}, Exclusion.UNMAPPED),
        ({"flag": 0x400 | 0x200}, Exclusion.QC_FAIL),
        ({"mapping_quality": 19}, Exclusion.LOW_MAPPING_QUALITY),
        ({"mapping_quality": 20}, Observation("r1", "G", 30, True)),
        ({"mapping_quality": 255}, Exclusion.LOW_MAPPING_QUALITY),  # 255 = unavailable
        ({"qualities": [30] * 20 + [19] + [30] * 29}, Exclusion.LOW_BASE_QUALITY),
        ({"qualities": None}, Exclusion.LOW_BASE_QUALITY),
        ({"sequence": "c" * 20 + "g" + "c" * 29}, Observation("r1", "G", 30, True)),
        ({"sequence": "C" * 20 + "R" + "C" * 29}, Observation("r1", "N", 30, True)),
        ({"cigar": [(M, 20), (D, 1), (M, 29)]}, Observation("r1", "-", 0, True)),
        ({"cigar": [(M, 20), (N, 100), (M, 30)]}, Exclusion.REF_SKIP),
        ({"flag": 0x1 | 0x80}, Observation("r1", "G", 30, False)),
        ({"flag": 0x1 | 0x40}, Observation("r1", "G", 30, True)),
    ],
)
def test_observe_read(overrides: dict[str, object], expected: Observation | Exclusion) -> None:
    assert observe(**overrides) == expected


def test_deletion_ignores_base_quality_but_not_mapq() -> None:
    cigar = [(M, 20), (D, 1), (M, 29)]
    assert observe(cigar=cigar, qualities=[0] * 49) == Observation("r1", "-", 0, True)
    assert observe(cigar=cigar, mapping_quality=3) is Exclusion.LOW_MAPPING_QUALITY


def test_merge_mates() -> None:
    kept, dropped = merge_mates(
        [
            Observation("f1", "A", 30, True),
            Observation("f1", "A", 35, False),  # agreeing mates: keep one, the better base
            Observation("f2", "A", 30, True),
            Observation("f2", "G", 30, False),  # disagreeing mates: keep neither
            Observation("f3", "G", 30, True),
        ]
    )
    assert kept == [Observation("f1", "A", 35, False), Observation("f3", "G", 30, True)]
    assert dropped == {"overlapping_mate": 1, "discordant_mates": 2}


def test_tally_counts_every_kind() -> None:
    counts = tally(
        [
            Observation("a", "A", 30),
            Observation("b", "G", 30),
            Observation("c", "T", 30),
            Observation("d", "-", 0),
            Observation("e", "N", 30),
            Observation("f", "C", 30),
            Exclusion.DUPLICATE,
            Exclusion.DUPLICATE,
            Exclusion.LOW_BASE_QUALITY,
        ]
    )
    assert [counts.a, counts.c, counts.g, counts.t, counts.n, counts.deletions] == [1] * 6
    assert counts.depth == 6
    assert counts.other_bases == 3
    assert counts.reads_overlapping == 9
    assert counts.to_dict() == {
        "bases": {"A": 1, "C": 1, "G": 1, "T": 1, "N": 1},
        "deletions": 1,
        "reads_overlapping": 9,
        "excluded": {"duplicate": 2, "low_base_quality": 1},
    }


def test_likelihoods_by_hand() -> None:
    e = 0.01
    lik = genotype_likelihoods(10, 0, 0, e)
    assert lik.log10[0] == pytest.approx(10 * math.log10(1 - e))
    assert lik.log10[1] == pytest.approx(10 * math.log10(0.5 - e / 3))
    assert lik.log10[2] == pytest.approx(10 * math.log10(e / 3))
    assert lik.best == "A/A"
    # GQ = 10 * (log10 L(best) - log10 L(second)) = 10 * 10 * log10(0.99 / 0.49667) = 29.96
    assert lik.gq == 30
    assert lik.pl == (0, 30, 247)
    assert genotype_likelihoods(7, 7, 0, e).best == "A/G"
    assert genotype_likelihoods(0, 12, 0, e).best == "G/G"
    assert genotype_likelihoods(200, 0, 0, e).gq == 99  # capped


def test_other_bases_do_not_change_the_ranking() -> None:
    # C/T reads are equally likely (2e/3) under every genotype: same GQ, same best.
    plain = genotype_likelihoods(9, 3, 0, 0.01)
    noisy = genotype_likelihoods(9, 3, 5, 0.01)
    assert (plain.best, plain.gq, plain.pl) == (noisy.best, noisy.gq, noisy.pl)


@given(
    a=st.integers(0, 300),
    g=st.integers(0, 300),
    other=st.integers(0, 30),
    e=st.floats(0.0001, 0.2),
)
def test_likelihood_symmetry_and_ranges(a: int, g: int, other: int, e: float) -> None:
    lik = genotype_likelihoods(a, g, other, e)
    mirrored = genotype_likelihoods(g, a, other, e)
    assert lik.log10[0] == pytest.approx(mirrored.log10[2])
    assert lik.log10[1] == pytest.approx(mirrored.log10[1])
    assert 0 <= lik.gq <= 99
    assert min(lik.pl) == 0
    assert lik.pl[("A/A", "A/G", "G/G").index(lik.best)] == 0
    if a > 0 and g == 0:
        assert lik.best == "A/A"
    if g > 0 and a == 0:
        assert lik.best == "G/G"


@given(a=st.integers(0, 100), g=st.integers(0, 100))
def test_one_more_g_read_never_favours_aa(a: int, g: int) -> None:
    before = genotype_likelihoods(a, g, 0, 0.01).log10
    after = genotype_likelihoods(a, g + 1, 0, 0.01).log10
    assert after[0] - after[1] < before[0] - before[1]


def counts(**kw: int) -> PileupCounts:
    reads = kw.pop("reads", None)
    base = PileupCounts(**kw)  # type: ignore[arg-type]
    return PileupCounts(
        **{**kw, "reads_overlapping": reads if reads is not None else base.depth}  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("pileup", "status", "genotype", "codes"),
    [
        (counts(a=20), "called", "A/A", ()),
        (counts(a=10, g=10), "called", "A/G", ()),
        (counts(g=10), "called", "G/G", ()),
        (counts(), "not_covered", None, ("ABSENT",)),
        (counts(reads=12), "failed_qc", None, ("LOW_DEPTH",)),  # all reads filtered
        (counts(a=9), "failed_qc", None, ("LOW_DEPTH",)),
        (counts(a=5, deletions=10), "no_call", None, ("SPANNING_DELETION", "LOW_GQ")),
        (counts(a=2, deletions=3), "no_call", None, ("SPANNING_DELETION", "LOW_DEPTH")),
        (counts(a=10, t=10), "no_call", None, ("UNEXPECTED_ALT",)),
        (counts(a=18, c=1, t=1), "called", "A/A", ()),  # 2/20 = 10 %: tolerated
        (counts(a=18, c=2, t=1), "no_call", None, ("UNEXPECTED_ALT",)),
        (counts(n=20), "no_call", None, ("UNEXPECTED_ALT",)),
        (counts(a=40, g=9), "called", "A/G", ("ALLELE_BALANCE_SKEW",)),
        (counts(a=9, g=41), "called", "A/G", ("ALLELE_BALANCE_SKEW",)),
        (counts(a=40, g=6), "failed_qc", None, ("LOW_GQ", "ALLELE_BALANCE_SKEW")),
    ],
)
def test_assess_pileup(
    pileup: PileupCounts, status: str, genotype: str | None, codes: tuple[str, ...]
) -> None:
    result = assess_pileup(pileup, DEFAULTS, Thresholds())
    assert result.status == status
    assert result.genotype == genotype
    assert result.reason_codes == codes
    assert len(result.reasons) == len(codes)


def test_failed_call_keeps_the_likely_genotype() -> None:
    result = assess_pileup(counts(g=5), DEFAULTS, Thresholds())
    assert (result.status, result.genotype, result.likely_genotype) == ("failed_qc", None, "G/G")
    assert result.gq == 15
    assert result.pl == (124, 15, 0)


def test_gates_can_be_switched_off() -> None:
    # --min-depth 0 --min-gq 0: one read is then enough (the user's explicit choice) ...
    one = assess_pileup(counts(a=1), DEFAULTS, Thresholds(min_depth=0, min_gq=0))
    assert (one.status, one.genotype) == ("called", "A/A")
    # ... but reads that were all filtered out are still no evidence.
    none = assess_pileup(counts(reads=3), DEFAULTS, Thresholds(min_depth=0, min_gq=0))
    assert (none.status, none.reason_codes) == ("failed_qc", ("LOW_DEPTH",))


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("min_base_quality", -1, "--min-base-quality must be 0-93"),
        ("min_mapping_quality", 300, "--min-mapping-quality must be 0-255"),
        ("error_rate", 0.0, "--error-rate must be above 0 and below 0.5"),
        ("error_rate", 0.5, "--error-rate must be above 0 and below 0.5"),
    ],
)
def test_option_ranges(field: str, value: float, fragment: str) -> None:
    with pytest.raises(UsageError) as err:
        PileupOptions(**{field: value})  # type: ignore[arg-type]
    assert fragment in str(err.value)
