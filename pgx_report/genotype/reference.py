"""Check the reference FASTA at the site: the base must be A (``--reference FASTA``).

A lab passes the FASTA its data were aligned to. If the base at the build's
rs1799971 coordinate is not A, the FASTA (or the build we detected) is wrong, and
no genotype can be trusted: that is an exit-2 error naming the FASTA and the base
found. The same FASTA decodes CRAM input, so we also check that it holds the
CRAM's contig and, when the CRAM header records one, the same sequence (@SQ M5); that
MD5 is cached per FASTA (``cached_contig_md5``), not recomputed for every sample; so is
the FASTA's SHA-256 for ``provenance.reference`` (``files.cache.cached_sha256``).

Works on plain FASTA with a ``.fai`` index and on bgzipped FASTA with ``.fai`` and
``.gzi``. A missing index is built in a temporary folder, never beside the user's file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgx_report.errors import InputError
from pgx_report.files.io import read_head

if TYPE_CHECKING:
    import pysam

    from pgx_report.contracts.call import Call

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"


class FastaError(InputError):
    """The reference FASTA is unreadable or does not match the input."""


def _compression(path: Path) -> str:
    """``"plain"``, ``"bgzf"`` or ``"gzip"`` (not block-compressed: unusable)."""
    head = read_head(path, 18, FastaError, noun="reference FASTA", kind="FASTA file")
    if head[:2] != _GZIP_MAGIC:
        if not head:
            raise FastaError(path, "reference FASTA is empty")
        if not head.startswith(b">"):
            raise FastaError(path, "not a FASTA file (does not start with '>')")
        return "plain"
    # BGZF = gzip with the FEXTRA flag and a 'BC' subfield (SAM specification 4.1).
    if len(head) >= 14 and head[3] & 0x04 and head[12:14] == b"BC":
        return "bgzf"
    return "gzip"


@contextlib.contextmanager
def indexed_fasta(path: str | Path) -> Iterator[Path]:
    """Yield a path pysam/htslib can read with an index, without writing beside ``path``.

    If the ``.fai`` (and for bgzipped FASTA the ``.gzi``) exist they are used; otherwise
    the FASTA is linked into a temporary folder and indexed there (logged: for a whole
    genome this costs seconds on every run, so index it once with ``samtools faidx``).
    """
    import pysam
    import pysam.utils

    fasta = Path(path)
    kind = _compression(fasta)
    if kind == "gzip":
        raise FastaError(
            fasta, "reference FASTA is gzip- but not bgzip-compressed; recompress it with bgzip"
        )
    needed = [Path(f"{fasta}.fai")] + ([Path(f"{fasta}.gzi")] if kind == "bgzf" else [])
    if all(index.exists() for index in needed):
        yield fasta
        return
    log.warning(
        "%s: no %s index beside the FASTA: building a temporary one (run `samtools faidx %s`)",
        fasta,
        " + ".join(index.suffix for index in needed),
        fasta,
    )
    folder = Path(tempfile.mkdtemp(prefix="pgx-report-fasta-"))
    try:
        link = folder / fasta.name
        link.symlink_to(fasta.resolve())
        pysam.set_verbosity(0)
        try:
            pysam.faidx(str(link))
        except pysam.utils.SamtoolsError as exc:
            detail = " ".join(str(exc).split())[-200:]
            raise FastaError(fasta, f"cannot index the reference FASTA: {detail}") from None
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _open(fasta: Path, shown: Path) -> pysam.FastaFile:
    import pysam

    try:
        return pysam.FastaFile(str(fasta))
    except (OSError, ValueError) as exc:
        raise FastaError(shown, f"cannot read the reference FASTA: {exc}") from None


@dataclass(frozen=True)
class ReferenceCheck:
    """The FASTA's evidence at the site (recorded in the call's provenance)."""

    path: str
    contig: str
    contig_length: int
    pos: int
    base: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "contig": self.contig,
            "contig_length": self.contig_length,
            "pos": self.pos,
            "base": self.base,
        }


def check_reference_base(
    fasta: str | Path,
    *,
    contigs: Sequence[str],
    pos: int,
    build: str,
    expected_length: int | None,
    expected_base: str = "A",
    shown: str | Path | None = None,
) -> ReferenceCheck:
    """Read the base at ``pos`` (1-based) on the first of ``contigs`` the FASTA has.

    ``contigs`` are the names chromosome 6 may carry (the input's own name first).
    ``shown`` is the path named in messages (the user's path when ``fasta`` is a
    temporary link). Raises :class:`FastaError` on any mismatch.
    """
    shown_path = Path(shown if shown is not None else fasta)
    handle = _open(Path(fasta), shown_path)
    try:
        present = [name for name in contigs if name in handle.references]
        if not present:
            raise FastaError(
                shown_path,
                f"reference FASTA has no chromosome 6 (looked for {', '.join(contigs)})",
            )
        contig = present[0]
        length = handle.get_reference_length(contig)
        if expected_length is not None and length != expected_length:
            raise FastaError(
                shown_path,
                f"{contig} is {length} bp long but {build} chr6 is {expected_length} bp: "
                f"the FASTA is not {build} (wrong build or wrong file)",
            )
        if pos > length:
            raise FastaError(shown_path, f"{contig} ends at {length}, before the site {pos}")
        try:
            base = handle.fetch(contig, pos - 1, pos).upper()
        except (OSError, ValueError) as exc:
            raise FastaError(shown_path, f"cannot read {contig}:{pos}: {exc}") from None
    finally:
        handle.close()
    if base != expected_base:
        raise FastaError(
            shown_path,
            f"reference base at {contig}:{pos} is {base or 'missing'}, expected {expected_base} "
            f"for rs1799971 on {build} (wrong build or wrong file)",
        )
    return ReferenceCheck(str(shown_path), contig, length, pos, base)


def contig_md5(fasta: str | Path, contig: str, shown: str | Path | None = None) -> str:
    """MD5 of a contig's sequence as the SAM @SQ M5 tag defines it (upper case, no newlines)."""
    shown_path = Path(shown if shown is not None else fasta)
    handle = _open(Path(fasta), shown_path)
    try:
        sequence = handle.fetch(contig)
    except (KeyError, OSError, ValueError) as exc:
        raise FastaError(shown_path, f"cannot read {contig}: {exc}") from None
    finally:
        handle.close()
    return hashlib.md5(sequence.upper().encode("ascii"), usedforsecurity=False).hexdigest()


def cached_contig_md5(fasta: str | Path, contig: str, shown: str | Path | None = None) -> str:
    """:func:`contig_md5`, remembered in the user cache (``pgx_report.files.cache``) keyed by
    the identity of the FASTA and its indexes: a whole-genome FASTA's chr6 is read once,
    not once per sample. Any change to the FASTA or its .fai/.gzi recomputes it."""
    from pgx_report.files import cache

    fasta_path = Path(fasta)
    files = [fasta_path] + [
        index for index in (Path(f"{fasta_path}.fai"), Path(f"{fasta_path}.gzi")) if index.exists()
    ]
    try:
        identities = [cache.file_identity(item) for item in files]
    except OSError:
        return contig_md5(fasta, contig, shown)
    key = {"contig": contig, "files": identities}
    name = f"{identities[0]['path']}\0{contig}"
    found = cache.load("contig-md5", name, key)
    if isinstance(found, str) and len(found) == 32 and set(found) <= set("0123456789abcdef"):
        log.debug("%s: MD5 of %s from the cache", shown or fasta, contig)
        return found
    md5 = contig_md5(fasta, contig, shown)
    cache.store("contig-md5", name, key, md5)
    return md5


def check_cram_reference(
    fasta: str | Path, *, contig: str, header_md5: str | None, shown: str | Path | None = None
) -> None:
    """The FASTA must hold the CRAM's contig by the same name and, if known, the same sequence."""
    shown_path = Path(shown if shown is not None else fasta)
    handle = _open(Path(fasta), shown_path)
    try:
        has = contig in handle.references
    finally:
        handle.close()
    if not has:
        raise FastaError(
            shown_path,
            f"reference FASTA has no contig {contig!r}, which the CRAM needs to decode its reads",
        )
    if header_md5:
        found = cached_contig_md5(fasta, contig, shown_path)
        if found != header_md5:
            raise FastaError(
                shown_path,
                f"{contig} has MD5 {found} but the CRAM header's @SQ M5 is {header_md5}: "
                "not the reference the CRAM was written with",
            )


def reference_provenance(
    fasta: str | Path, *, build: str, chrom: str, usable: str | Path | None = None
) -> dict[str, Any]:
    """Check ``fasta`` at the site of ``build``; describe it for ``provenance.reference``.

    ``chrom`` is the input's name for chromosome 6 (tried first, then the build's other
    names). ``usable`` is an already indexed path for ``fasta`` (see :func:`indexed_fasta`).
    """
    from pgx_report.files.cache import cached_sha256
    from pgx_report.genotype.site import rs1799971

    coords = rs1799971().in_build(build)
    with contextlib.ExitStack() as stack:
        path = usable if usable is not None else stack.enter_context(indexed_fasta(fasta))
        checked = check_reference_base(
            path,
            contigs=tuple(dict.fromkeys((chrom, *coords.contig_aliases))),
            pos=coords.pos,
            build=coords.build.value,
            expected_length=coords.chr6_length,
            shown=fasta,
        )
    return {**checked.to_dict(), "path": Path(fasta).name, "sha256": cached_sha256(fasta)}


def check_call_reference(calls: Sequence[Call], fasta: str | Path) -> list[Call]:
    """Check ``fasta`` once against the build and contig of ``calls`` (from one input file)
    and record it in each call's ``provenance.reference``."""
    if not calls:
        return []
    variant = calls[0].variant
    info = reference_provenance(fasta, build=str(variant["build"]), chrom=str(variant["chrom"]))
    return [
        dataclasses.replace(call, provenance={**call.provenance, "reference": info})
        for call in calls
    ]
