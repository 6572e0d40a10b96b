"""The reference FASTA check (genotype/reference.py): base at the site, build, CRAM sequence."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from alignment_support import load_generator

from pgx_report.genotype.reference import (
    FastaError,
    check_cram_reference,
    check_reference_base,
    contig_md5,
    indexed_fasta,
)
from pgx_report.genotype.site import rs1799971

GRCH38 = rs1799971().in_build("GRCh38")


@pytest.fixture(scope="session")
def fastas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Full-length chr6 FASTAs (mostly N): right/wrong base, plain/bgzip, both builds."""
    gen = load_generator()
    folder = tmp_path_factory.mktemp("fasta")
    made = {
        "plain": gen.write_fasta(folder / "plain.fa", build="GRCh38"),
        "bgzip": gen.write_fasta(folder / "bgzip.fa.gz", build="GRCh38", bgzip=True),
        "wrong_base": gen.write_fasta(folder / "wrong_base.fa", build="GRCh38", site_base="G"),
        "grch37": gen.write_fasta(folder / "b37.fa", build="GRCh37", contig="6"),
        "short": gen.write_fasta(folder / "short.fa", build="GRCh38", length=1000),
        "other_name": gen.write_fasta(folder / "other_name.fa", build="GRCh38", contig="chr7"),
    }
    noindex = folder / "noindex"
    noindex.mkdir()
    shutil.copyfile(made["plain"], noindex / "plain.fa")
    shutil.copyfile(made["bgzip"], noindex / "bgzip.fa.gz")
    made["noindex_plain"] = noindex / "plain.fa"
    made["noindex_bgzip"] = noindex / "bgzip.fa.gz"
    gz = folder / "plaingzip.fa.gz"
    with made["plain"].open("rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    made["plain_gzip"] = gz
    return made


def check(fasta: Path, build: str = "GRCh38", contigs: tuple[str, ...] = ("chr6", "6")) -> str:
    coords = rs1799971().in_build(build)
    with indexed_fasta(fasta) as usable:
        result = check_reference_base(
            usable,
            contigs=contigs,
            pos=coords.pos,
            build=build,
            expected_length=coords.chr6_length,
            shown=fasta,
        )
    assert result.path == str(fasta)
    assert result.pos == coords.pos
    return result.base


@pytest.mark.parametrize("kind", ["plain", "bgzip", "noindex_plain", "noindex_bgzip"])
def test_reference_base_is_a(fastas: dict[str, Path], kind: str) -> None:
    folder = fastas[kind].parent
    before = sorted(p.name for p in folder.iterdir())
    assert check(fastas[kind]) == "A"
    # A missing index is built in a temporary folder: nothing appears beside the user's file.
    assert sorted(p.name for p in folder.iterdir()) == before


def test_other_build_and_contig_alias(fastas: dict[str, Path]) -> None:
    # GRCh37 FASTA naming chromosome 6 "6" while the input says "chr6": alias accepted.
    assert check(fastas["grch37"], build="GRCh37", contigs=("chr6", "6", "NC_000006.11")) == "A"


@pytest.mark.parametrize(
    ("kind", "build", "fragments"),
    [
        ("wrong_base", "GRCh38", ["reference base at chr6:154039662 is G, expected A"]),
        ("grch37", "GRCh38", ["6 is 171115067 bp long but GRCh38 chr6 is 170805979 bp"]),
        ("plain", "GRCh37", ["chr6 is 170805979 bp long but GRCh37 chr6 is 171115067 bp"]),
        ("other_name", "GRCh38", ["has no chromosome 6 (looked for chr6, 6)"]),
        ("plain_gzip", "GRCh38", ["gzip- but not bgzip-compressed", "bgzip"]),
    ],
)
def test_reference_mismatch(
    fastas: dict[str, Path], kind: str, build: str, fragments: list[str]
) -> None:
    with pytest.raises(FastaError) as err:
        check(fastas[kind], build=build)
    message = str(err.value)
    assert message.startswith(f"{fastas[kind]}: ")
    for fragment in fragments:
        assert fragment in message


def test_short_contig(fastas: dict[str, Path]) -> None:
    with indexed_fasta(fastas["short"]) as usable, pytest.raises(FastaError) as err:
        check_reference_base(
            usable, contigs=("chr6",), pos=GRCH38.pos, build="GRCh38", expected_length=None
        )
    assert "chr6 ends at 1000, before the site 154039662" in str(err.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "reference FASTA not found"),
        (b"", "reference FASTA is empty"),
        (b"##fileformat=VCFv4.2\n", "not a FASTA file"),
    ],
)
def test_bad_fasta_files(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "ref.fa"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FastaError) as err, indexed_fasta(path):
        pass
    assert fragment in str(err.value)
    assert str(err.value).startswith(str(path))


def test_cram_reference_checks(fastas: dict[str, Path]) -> None:
    md5 = contig_md5(fastas["plain"], "chr6")
    assert md5 == contig_md5(fastas["bgzip"], "chr6")
    assert md5 != contig_md5(fastas["wrong_base"], "chr6")
    check_cram_reference(fastas["plain"], contig="chr6", header_md5=md5)
    check_cram_reference(fastas["plain"], contig="chr6", header_md5=None)
    with pytest.raises(FastaError) as err:
        check_cram_reference(fastas["wrong_base"], contig="chr6", header_md5=md5)
    assert "not the reference the CRAM was written with" in str(err.value)
    with pytest.raises(FastaError) as err:
        check_cram_reference(fastas["grch37"], contig="chr6", header_md5=None)
    assert "has no contig 'chr6'" in str(err.value)
