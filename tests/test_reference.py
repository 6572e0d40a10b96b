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


def _entries(folder: Path) -> list[Path]:
    return sorted((folder / "contig-md5").glob("*.json"))


def test_cram_md5_cached_by_fasta_identity(
    tmp_path: Path, fastas: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chr6 MD5 is computed once per FASTA, reused while the FASTA and its index are
    unchanged, and recomputed (never trusted) as soon as either differs."""
    import pgx_report.genotype.reference as reference

    monkeypatch.setenv("PGX_REPORT_CACHE_DIR", str(tmp_path / "cache"))
    fasta = tmp_path / "ref.fa"
    shutil.copyfile(fastas["plain"], fasta)
    shutil.copyfile(f"{fastas['plain']}.fai", f"{fasta}.fai")
    real = reference.contig_md5
    computed: list[str] = []

    def counting(path: str | Path, contig: str, shown: str | Path | None = None) -> str:
        computed.append(contig)
        return real(path, contig, shown)

    monkeypatch.setattr(reference, "contig_md5", counting)
    md5 = real(fastas["plain"], "chr6")
    check_cram_reference(fasta, contig="chr6", header_md5=md5)
    check_cram_reference(fasta, contig="chr6", header_md5=md5)
    assert computed == ["chr6"]
    assert len(_entries(tmp_path / "cache")) == 1

    # Same size, new content (the base at the site): the cached MD5 must not be used.
    shutil.copyfile(fastas["wrong_base"], fasta)
    with pytest.raises(FastaError) as err:
        check_cram_reference(fasta, contig="chr6", header_md5=md5)
    assert "not the reference the CRAM was written with" in str(err.value)
    assert computed == ["chr6", "chr6"]
    assert len(_entries(tmp_path / "cache")) == 1  # replaced, not added


def test_cram_md5_cache_entry_never_trusted_blindly(
    tmp_path: Path, fastas: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupt or forged entry (other identity) is ignored; an unwritable cache is harmless."""
    import json

    from pgx_report.genotype.reference import cached_contig_md5

    folder = tmp_path / "cache"
    monkeypatch.setenv("PGX_REPORT_CACHE_DIR", str(folder))
    fasta = fastas["plain"]
    md5 = contig_md5(fasta, "chr6")
    assert cached_contig_md5(fasta, "chr6") == md5
    (entry,) = _entries(folder)
    data = json.loads(entry.read_text())
    data["value"] = "0" * 32
    data["key"]["files"][0]["mtime_ns"] += 1
    entry.write_text(json.dumps(data))
    assert cached_contig_md5(fasta, "chr6") == md5
    entry.write_text("{not json")
    assert cached_contig_md5(fasta, "chr6") == md5
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PGX_REPORT_CACHE_DIR", str(blocker / "sub"))
    assert cached_contig_md5(fasta, "chr6") == md5


def test_cache_dir_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pgx_report.files.cache import cache_dir

    monkeypatch.setenv("PGX_REPORT_CACHE_DIR", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("PGX_REPORT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "pgx-report"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "pgx-report"
