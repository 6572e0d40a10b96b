"""Call every truth row ``repeat`` times with the production caller and compare.

Pure apart from the caller: :func:`validate_rows` takes the rows and a caller, and returns a
:class:`ValidationResult`. A row is concordant when its call is the expected genotype (or,
for an expected ``not_determined``, when no genotype is called); repeats are compared as
the bytes of the canonical call JSON, exactly what ``pgx-report call`` writes."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgx_report.contracts.call import Call, Status, Thresholds
from pgx_report.errors import InputError, PgxError
from pgx_report.files.io import canonical_json
from pgx_report.genotype.dispatch import call_sample
from pgx_report.validation.stats import clopper_pearson
from pgx_report.validation.truth import EXPECTED, NOT_DETERMINED, TruthRow

CONFIDENCE = 0.95
Caller = Callable[[TruthRow, Thresholds], Call]


class RowStatus(enum.StrEnum):
    CONCORDANT = "concordant"
    DISCORDANT = "discordant"
    NOT_DETERMINED = "not_determined"


@dataclass(frozen=True)
class RowResult:
    row: TruthRow
    call: Call  # the first run's call
    status: RowStatus
    runs: int
    identical_runs: int  # runs whose call JSON bytes equal the first run's

    @property
    def observed(self) -> str | None:
        return self.call.genotype if self.call.status is Status.CALLED else None


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Tally:
    rows: int
    concordant: int
    discordant: int
    not_determined: int

    @property
    def concordance(self) -> Interval | None:
        if not self.rows:
            return None
        low, high = clopper_pearson(self.concordant, self.rows, CONFIDENCE)
        return Interval(self.concordant / self.rows, low, high)


@dataclass(frozen=True)
class ValidationResult:
    rows: tuple[RowResult, ...]
    thresholds: Thresholds
    repeat: int

    @property
    def samples(self) -> tuple[RowResult, ...]:
        """The rows of independent samples (not the extra file forms of one)."""
        return tuple(r for r in self.rows if r.row.replicate_of is None)

    @property
    def tally(self) -> Tally:
        """Accuracy over independent samples (what the confidence interval is about)."""
        return tally(self.samples)

    @property
    def forms(self) -> Tally:
        """The extra file forms of samples counted in :attr:`tally`."""
        return tally([r for r in self.rows if r.row.replicate_of is not None])

    @property
    def by_expected(self) -> dict[str, Tally]:
        return {g: tally([r for r in self.samples if r.row.expected == g]) for g in EXPECTED}

    @property
    def runs(self) -> int:
        return sum(r.runs for r in self.rows)

    @property
    def identical(self) -> int:
        return sum(r.identical_runs for r in self.rows)

    @property
    def passed(self) -> bool:
        concordant = all(r.status is RowStatus.CONCORDANT for r in self.rows)
        return concordant and self.identical == self.runs


def tally(rows: Sequence[RowResult]) -> Tally:
    def count(status: RowStatus) -> int:
        return sum(1 for r in rows if r.status is status)

    return Tally(
        len(rows),
        count(RowStatus.CONCORDANT),
        count(RowStatus.DISCORDANT),
        count(RowStatus.NOT_DETERMINED),
    )


def row_status(expected: str, call: Call) -> RowStatus:
    """Compare one call with the truth row's expectation."""
    called = call.status is Status.CALLED and call.genotype is not None
    if expected == NOT_DETERMINED:
        return RowStatus.DISCORDANT if called else RowStatus.CONCORDANT
    if not called:
        return RowStatus.NOT_DETERMINED
    return RowStatus.CONCORDANT if call.genotype == expected else RowStatus.DISCORDANT


def production_call(row: TruthRow, thresholds: Thresholds) -> Call:
    """The call ``pgx-report call --full-digest`` makes for this row (same dispatcher and
    options; the validation record names each input by its whole-file SHA-256)."""
    return call_sample(
        row.input,
        sample=row.vcf_sample,
        thresholds=thresholds,
        reference=row.reference,
        full_digest=True,
    )


def validate_rows(
    rows: Sequence[TruthRow],
    *,
    thresholds: Thresholds,
    repeat: int,
    source: str | Path,
    caller: Caller = production_call,
) -> ValidationResult:
    """Call each row ``repeat`` times. A row whose input cannot be called (unreadable, no
    such sample, ...) is bad input: InputError naming ``source``, the line and the sample."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    results = []
    for row in rows:
        texts: list[str] = []
        first: Call | None = None
        for _ in range(repeat):
            try:
                call = caller(row, thresholds)
            except PgxError as err:
                where = f"line {row.line} (sample '{row.sample}')"
                raise InputError(source, f"{where}: {err}") from None
            first = first or call
            texts.append(canonical_json(call.to_dict()))
        assert first is not None
        identical = sum(1 for text in texts if text == texts[0])
        results.append(RowResult(row, first, row_status(row.expected, first), repeat, identical))
    return ValidationResult(tuple(results), thresholds, repeat)
