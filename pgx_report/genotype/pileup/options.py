"""The pileup's settings (:class:`PileupOptions`), apart from the pileup code so that the
command line can give their defaults without importing it (start-up time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgx_report.errors import UsageError


@dataclass(frozen=True)
class PileupOptions:
    """Read and base filters for the pileup, and the model's error rate.

    Defaults: base quality >= 20, mapping quality >= 20, duplicates, secondary,
    supplementary, QC-failed and unmapped reads excluded, overlapping mates of one
    fragment counted once, sequencing error rate 1 %, at most 10 % of the counted
    observations may be something other than A or G before the site is failed.
    """

    min_base_quality: int = 20
    min_mapping_quality: int = 20
    error_rate: float = 0.01
    max_other_fraction: float = 0.10

    def __post_init__(self) -> None:
        if not 0 <= self.min_base_quality <= 93:
            raise UsageError(None, f"--min-base-quality must be 0-93, not {self.min_base_quality}")
        if not 0 <= self.min_mapping_quality <= 255:
            raise UsageError(
                None, f"--min-mapping-quality must be 0-255, not {self.min_mapping_quality}"
            )
        if not 0 < self.error_rate < 0.5:
            raise UsageError(
                None, f"--error-rate must be above 0 and below 0.5, not {self.error_rate}"
            )
        if not 0 <= self.max_other_fraction < 1:
            raise UsageError(
                None, f"max_other_fraction must be in [0, 1), not {self.max_other_fraction}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_base_quality": self.min_base_quality,
            "min_mapping_quality": self.min_mapping_quality,
            "error_rate": self.error_rate,
            "max_other_fraction": self.max_other_fraction,
            "excluded_flags": ["unmapped", "secondary", "supplementary", "qc_fail", "duplicate"],
            "overlapping_mates": "counted_once",
        }
