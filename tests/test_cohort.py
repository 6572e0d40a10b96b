"""Bulk calls for many samples (pgx_report.genotype.vcf.grouped) and --all-samples on a cohort."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pgx_report.files.io import canonical_json
from pgx_report.genotype.vcf.grouped import CallBatch, group_rows


@dataclass(frozen=True)
class FakeCall:
    sample: str
    depth: float | None
    gt: str

    def to_dict(self) -> dict[str, Any]:
        return {"sample": self.sample, "depth": self.depth, "gt": self.gt, "z": [self.sample]}


def test_group_rows_groups_only_identical_rows() -> None:
    depth = np.array([30.0, 30.0, np.nan, np.nan, 31.0, 30.0])
    codes = np.array([[0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [1, 1]])
    first, inverse = group_rows([depth, codes], 6)
    assert inverse[0] == inverse[1]
    assert inverse[2] == inverse[3]  # NaN equals NaN bit for bit
    assert len({inverse[0], inverse[2], inverse[4], inverse[5]}) == 4
    assert len(first) == 4
    for g, i in enumerate(first):
        assert inverse[i] == g


def test_group_rows_empty() -> None:
    first, inverse = group_rows([np.zeros(0)], 0)
    assert len(first) == 0 and len(inverse) == 0


@pytest.mark.parametrize(
    "names",
    [
        ["A", "B", "C", "D"],
        ['we"ird', "back\\slash", "ünïcode", "tab\tname"],
    ],
)
def test_batch_json_equals_per_call_rendering(names: list[str]) -> None:
    depth = np.array([30.0, np.nan, 30.0, 12.0])
    gts = ["0/1", "./.", "0/1", "1/1"]
    first, inverse = group_rows([depth, np.array([len(g) + ord(g[0]) for g in gts])], 4)

    def make(i: int, name: str) -> FakeCall:
        value = None if np.isnan(depth[i]) else float(depth[i])
        return FakeCall(name, value, gts[i])

    batch: CallBatch[FakeCall] = CallBatch(names, make, first, inverse)
    assert batch.n_groups == 3
    assert len(batch) == 4
    expected = [make(i, name) for i, name in enumerate(names)]
    assert list(batch) == expected
    assert batch[-1] == expected[-1] and batch[1:3] == expected[1:3]
    texts = list(batch.json_texts())
    assert texts == [(c.sample, canonical_json(c.to_dict())) for c in expected]
    rows = list(batch.rows(lambda c: [c.sample, c.gt]))
    assert rows == [[c.sample, c.gt] for c in expected]


@dataclass(frozen=True)
class WordyCall:
    sample: str

    def to_dict(self) -> dict[str, Any]:
        return {"sample": self.sample, "reason": f"sample {self.sample} was shallow"}


def test_batch_json_when_the_name_is_inside_a_sentence() -> None:
    names = ["A1", "B2"]
    first, inverse = group_rows([np.zeros(2)], 2)
    batch: CallBatch[WordyCall] = CallBatch(names, lambda i, n: WordyCall(n), first, inverse)
    assert batch.n_groups == 1
    assert list(batch.json_texts()) == [(n, canonical_json(WordyCall(n).to_dict())) for n in names]


def test_group_rows_is_exact_on_many_random_rows() -> None:
    rng = np.random.default_rng(7)
    cols = [rng.integers(0, 3, size=(5000, 2)), rng.integers(0, 4, size=5000).astype(float)]
    cols[1][rng.random(5000) < 0.2] = np.nan
    first, inverse = group_rows(cols, 5000)
    rows = [(*cols[0][i].tolist(), repr(cols[1][i])) for i in range(5000)]
    assert len(first) == len(set(rows))
    for i in range(5000):
        assert rows[i] == rows[first[inverse[i]]]


# ----------------------------------------------------------------------------- with the caller

_GTS = ["0/0", "0/1", "1/1", "./.", "./1", "0|1", "1", "0/2", "2/2", "1/2"]


def _cohort_vcf(path: Path, n: int, seed: int) -> list[str]:
    """A cohort VCF with every kind of genotype, depth and AD at and around the site:
    an upstream deletion, a multi-allelic site record (G and T), missing values."""
    rng = np.random.default_rng(seed)
    names = [f"P{i:04d}" for i in range(n)]
    head = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr6,length=170805979>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="DP">\n'
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="GQ">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="AD">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names) + "\n"
    )

    def column(alleles: int) -> str:
        cells = []
        for _ in range(n):
            gt = str(rng.choice(_GTS[:7] if alleles == 2 else _GTS))
            dp = int(rng.choice([5, 30]))
            gq = str(rng.choice([".", "10", "60"]))
            ad = ",".join(str(int(rng.choice([0, 1, 10]))) for _ in range(alleles))
            cells.append(f"{gt}:{dp}:{gq}:{ad}" if rng.random() > 0.05 else "./.:.:.:.")
        return "\t".join(cells)

    body = (
        f"chr6\t154039660\t.\tCTA\tC\t50\tPASS\t.\tGT:DP:GQ:AD\t{column(2)}\n"
        f"chr6\t154039662\t.\tA\tG,T\t50\tPASS\t.\tGT:DP:GQ:AD\t{column(3)}\n"
    )
    path.write_text(head + body)
    return names


@pytest.mark.parametrize("seed", [1, 2])
def test_bulk_calls_equal_calls_made_one_by_one(tmp_path: Path, seed: int) -> None:
    from pgx_report.genotype.vcf.rules import call_all_samples

    path = tmp_path / "cohort.vcf"
    names = _cohort_vcf(path, 600, seed)
    batch = call_all_samples(path)
    assert isinstance(batch, CallBatch)
    assert batch.names == names
    assert 1 < batch.n_groups < len(names)  # groups do form, and differ
    texts = dict(batch.json_texts())
    for i, name in enumerate(names):
        direct = batch._make(i, name)  # the call built for this sample alone
        assert batch[i] == direct
        assert texts[name] == canonical_json(direct.to_dict())
    statuses = {c.status.value for c in batch}
    assert {"called", "no_call", "failed_qc"} <= statuses
