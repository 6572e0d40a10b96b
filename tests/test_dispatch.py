"""The genotype dispatcher (pgx_report.genotype.dispatch): one sniff, one EOF check, one call."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from calling_support import build_test_vcfs
from test_sniff import BAM_START, bgzf

from pgx_report.errors import UsageError
from pgx_report.files import sniff
from pgx_report.genotype import dispatch
from pgx_report.genotype.vcf import rules


@pytest.fixture(scope="session")
def vcfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    return build_test_vcfs(tmp_path_factory)


def test_bgzf_eof_checked_once_per_unindexed_file(
    vcfs: dict[str, dict[str, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "het.vcf.gz"  # copied alone: no index beside it
    shutil.copyfile(vcfs["het"]["vcf.gz"], path)
    checked: list[Path] = []
    real = sniff.ends_with_bgzf_eof

    def counting(file: Path) -> bool:
        checked.append(file)
        return real(file)

    monkeypatch.setattr(sniff, "ends_with_bgzf_eof", counting)
    call = dispatch.call_sample(path)
    assert checked == [path]
    assert call.provenance["input"]["format"] == "vcf.gz"
    assert call.provenance["input"]["access"] == "bisection"
    assert call.genotype == "A/G"
    assert call.to_dict() == rules.call_file(path).to_dict()


def test_call_all_samples_matches_one_by_one(vcfs: dict[str, dict[str, Path]]) -> None:
    path = vcfs["het"]["vcf"]
    every = dispatch.call_all_samples(path)
    assert [c.to_dict() for c in every] == [dispatch.call_sample(path).to_dict()]


def test_call_all_samples_refuses_alignments(tmp_path: Path) -> None:
    path = tmp_path / "x.bam"
    path.write_bytes(bgzf(BAM_START))
    with pytest.raises(UsageError, match="--all-samples is for multi-sample VCF/BCF"):
        dispatch.call_all_samples(path)
