"""Reference-build detection from a VCF header.

Evidence, strongest first:

1. ``header_contig_length``: the length of chromosome 6 in a ``##contig`` line
   (GRCh37 171115067, GRCh38 170805979), under any of its names.
2. ``header_contig_name``: a RefSeq name that belongs to one build
   (``NC_000006.11`` GRCh37, ``NC_000006.12`` GRCh38).
3. ``header_assembly``: an ``assembly=`` tag on the chromosome 6 ``##contig`` line.
4. ``header_reference``: the ``##reference=`` line (FASTA name such as hg19, b37,
   GRCh38, hs38DH).

The build is never guessed: evidence that points to two builds, to an unsupported
build, or no evidence at all is a :class:`BuildError` telling the user to check the
file or pass ``--build``. ``--build`` settles missing or conflicting *name* evidence,
but it cannot overrule the chromosome 6 length or a build-specific RefSeq name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgx_report.errors import BuildError
from pgx_report.genotype.site import Build, rs1799971

# Assemblies the caller does not support; seeing one is evidence against both builds.
_OTHER_ASSEMBLIES = ("hg18", "hg17", "ncbi36", "ncbi35", "b36", "grch36", "chm13", "t2t")
_STRENGTH = ("header_contig_length", "header_contig_name", "header_assembly", "header_reference")
_STRONG = frozenset(_STRENGTH[:2])
_UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class ContigLine:
    """One ``##contig`` header line."""

    name: str
    length: int | None = None
    assembly: str | None = None


@dataclass(frozen=True)
class BuildDetection:
    """The build used for the call, how it was found and the header lines behind it."""

    build: Build
    method: str
    evidence: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.build.value, "method": self.method, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class _Vote:
    build: str  # a Build value or _UNSUPPORTED
    method: str
    evidence: str


def _name_pattern(fragment: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(fragment) + r"(?![0-9])")


def _builds_named(text: str) -> set[str]:
    lowered = text.lower()
    found: set[str] = set()
    for coords in rs1799971().builds:
        if any(_name_pattern(frag).search(lowered) for frag in coords.assembly_names):
            found.add(coords.build.value)
    if any(_name_pattern(frag).search(lowered) for frag in _OTHER_ASSEMBLIES):
        found.add(_UNSUPPORTED)
    return found


def _votes(contigs: Sequence[ContigLine], references: Sequence[str]) -> list[_Vote]:
    variant = rs1799971()
    chr6_names = {alias for coords in variant.builds for alias in coords.contig_aliases}
    votes: list[_Vote] = []
    for contig in contigs:
        if contig.name not in chr6_names:
            continue
        if contig.length is not None:
            by_length = [c.build.value for c in variant.builds if c.chr6_length == contig.length]
            votes.append(
                _Vote(
                    by_length[0] if by_length else _UNSUPPORTED,
                    "header_contig_length",
                    f"##contig {contig.name} length={contig.length}",
                )
            )
        owners = [c.build.value for c in variant.builds if contig.name in c.contig_aliases]
        if len(owners) == 1:
            votes.append(_Vote(owners[0], "header_contig_name", f"##contig {contig.name}"))
        if contig.assembly:
            for build in sorted(_builds_named(contig.assembly)):
                evidence = f"##contig {contig.name} assembly={contig.assembly}"
                votes.append(_Vote(build, "header_assembly", evidence))
    for reference in references:
        for build in sorted(_builds_named(reference)):
            votes.append(_Vote(build, "header_reference", f"##reference={reference}"))
    return votes


def _describe(votes: Sequence[_Vote]) -> str:
    return "; ".join(f"{v.evidence} says {v.build}" for v in votes)


def detect_build(
    path: str | Path,
    contigs: Sequence[ContigLine],
    references: Sequence[str],
    override: str | Build | None = None,
) -> BuildDetection:
    """Decide the build of ``path`` from its header (and ``--build`` if given)."""
    votes = _votes(contigs, references)
    lengths = {c.chr6_length for c in rs1799971().builds}
    unsupported = [v for v in votes if v.build == _UNSUPPORTED]
    if unsupported:
        raise BuildError(
            path,
            f"the header names a reference build pgx-report does not support "
            f"({_describe(unsupported)}); chromosome 6 must be GRCh37 or GRCh38 "
            f"(length {' or '.join(str(n) for n in sorted(lengths))})",
        )
    if override is not None:
        wanted = Build(override)
        against = [v for v in votes if v.build != wanted.value and v.method in _STRONG]
        if against:
            raise BuildError(
                path,
                f"--build {wanted.value} contradicts the header ({_describe(against)}); "
                "check that this is the right file",
            )
        overruled = [f"{v.evidence} (overruled)" for v in votes if v.build != wanted.value]
        agreeing = [v.evidence for v in votes if v.build == wanted.value]
        return BuildDetection(wanted, "option", (f"--build {wanted.value}", *agreeing, *overruled))
    builds = {v.build for v in votes}
    if not builds:
        raise BuildError(
            path,
            "cannot tell the reference build from the header (no ##contig line for "
            "chromosome 6 with a length, no assembly tag, no ##reference); "
            "rerun with --build GRCh37 or --build GRCh38",
        )
    if len(builds) > 1:
        raise BuildError(
            path,
            f"conflicting reference build evidence in the header ({_describe(votes)}); "
            "check the file, or rerun with --build GRCh37 or --build GRCh38 if you know it",
        )
    build = Build(builds.pop())
    method = min((v.method for v in votes), key=_STRENGTH.index)
    evidence = tuple(dict.fromkeys(v.evidence for v in votes))
    return BuildDetection(build, method, evidence)
