"""``pgx-report call``: call OPRM1 rs1799971 from a VCF / bgzipped VCF / BCF / gVCF."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgx_report.errors import OutputError, UsageError
from pgx_report.files.io import canonical_json, check_not_input, write_json
from pgx_report.genotype.vcf.grouped import CallBatch

HELP = "call the OPRM1 rs1799971 (c.118A>G) genotype from a VCF/gVCF/BCF or BAM/CRAM"

DESCRIPTION = """\
Call OPRM1 rs1799971 (c.118A>G, p.Asn40Asp) for one sample (one JSON, to stdout or -o
FILE) or for every sample (--all-samples: one JSON per sample plus calls.tsv in the -o
directory). INPUT may be VCF, bgzipped VCF (with or without a .tbi/.csi index),
plain-gzip VCF, BCF, or a GATK/DeepVariant gVCF.
BAM and CRAM (with --reference) are genotyped from the reads (docs/alignment.md).

The reference build is read from the header (chromosome 6 length, RefSeq contig name,
assembly tag, ##reference). Anything short of a clean, quality-passing A/A, A/G or G/G
is reported as not determined, with machine-readable reason codes (docs/calling.md).
A site absent from the file is "not_covered", never A/A.

Exit status: 0 on success (whatever the call), 2 on bad input (one line on stderr).
"""

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="VCF, VCF.gz, BCF or gVCF file, or BAM/CRAM (docs/alignment.md)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--sample",
        metavar="NAME",
        help="sample to call (required when the file has more than one sample)",
    )
    which.add_argument(
        "--all-samples",
        action="store_true",
        help="call every sample in one pass; -o names the output directory "
        "(one <sample>.json per sample, plus calls.tsv)",
    )
    add_threshold_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output JSON file (default: stdout); with --all-samples the output directory "
        "(required)",
    )
    add_alignment_options(parser)
    parser.set_defaults(execute=execute)


# The genotype-input options below are shared with `pgx-report run`.


def add_threshold_options(parser: Any) -> None:
    """--build, --min-depth, --min-gq on ``parser`` (a parser or an argument group)."""
    from pgx_report.contracts.call import Thresholds

    defaults = Thresholds()
    parser.add_argument(
        "--build",
        choices=("GRCh37", "GRCh38"),
        help="reference build, when the header does not say or says two things "
        "(cannot overrule the chromosome 6 length in the header)",
    )
    parser.add_argument(
        "--min-depth",
        type=non_negative,
        default=defaults.min_depth,
        metavar="N",
        help=f"minimum read depth at the site; for gVCF blocks MIN_DP (default {defaults.min_depth}"
        ", 0 = no depth gate). Lowering it can hide a poorly supported genotype: "
        "do it knowingly",
    )
    parser.add_argument(
        "--min-gq",
        type=non_negative,
        default=defaults.min_gq,
        metavar="N",
        help=f"minimum genotype quality GQ (default {defaults.min_gq}, 0 = no GQ gate). "
        "Lowering it can hide a poorly supported genotype: do it knowingly",
    )


def add_alignment_options(parser: argparse.ArgumentParser) -> None:
    """The --reference and pileup options, in their own argument group of ``parser``."""
    from pgx_report.genotype.pileup.alignment import PileupOptions

    pileup = PileupOptions()
    group = parser.add_argument_group(
        "reference and alignment input (BAM/CRAM, see docs/alignment.md)"
    )
    group.add_argument(
        "--reference",
        metavar="FASTA",
        help="reference FASTA (.fa + .fai, or bgzipped + .gzi): the base at the site must be A "
        "(else exit 2); required for CRAM, optional check for VCF and BAM",
    )
    group.add_argument(
        "--min-base-quality",
        type=non_negative,
        default=pileup.min_base_quality,
        metavar="N",
        help=f"BAM/CRAM: minimum base quality at the site (default {pileup.min_base_quality})",
    )
    group.add_argument(
        "--min-mapping-quality",
        type=non_negative,
        default=pileup.min_mapping_quality,
        metavar="N",
        help=f"BAM/CRAM: minimum mapping quality (default {pileup.min_mapping_quality}); "
        "duplicate, secondary, supplementary and QC-failed reads are always excluded",
    )
    group.add_argument(
        "--error-rate",
        type=float,
        default=pileup.error_rate,
        metavar="E",
        help=f"BAM/CRAM: per-base sequencing error rate of the genotype model "
        f"(default {pileup.error_rate}); a higher value lowers GQ",
    )


def pileup_options(args: argparse.Namespace) -> Any:
    """The PileupOptions from the options of :func:`add_alignment_options`."""
    from pgx_report.genotype.pileup.alignment import PileupOptions

    return PileupOptions(
        min_base_quality=args.min_base_quality,
        min_mapping_quality=args.min_mapping_quality,
        error_rate=args.error_rate,
    )


def sample_file_names(samples: Sequence[str]) -> list[str]:
    """A safe, unique file name per sample: ``<sample>.json``, or a hashed form when the
    name has characters unsafe in a path (``/``, spaces, leading dots, ...) or would
    clash with another sample's file on a case-insensitive file system."""
    lowered: dict[str, int] = {}
    for name in samples:
        if _SAFE_NAME.fullmatch(name):
            lowered[name.lower()] = lowered.get(name.lower(), 0) + 1
    names = []
    for name in samples:
        if _SAFE_NAME.fullmatch(name) and lowered[name.lower()] == 1:
            names.append(f"{name}.json")
        else:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:60] or "sample"
            digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
            names.append(f"{stem}-{digest}.json")
    return names


Memo = dict[int, tuple[Any, str]]


def _pretty(value: Any, level: int, memo: Memo, shared: frozenset[int]) -> str:
    """``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)`` at nesting
    ``level``. Objects whose id is in ``shared`` (variant, provenance, the site record:
    the same for many samples) are rendered once and remembered in ``memo``. The standard
    encoder falls back to pure Python when indenting; this keeps 100,000 files fast and
    byte-identical to :func:`pgx_report.files.io.canonical_json`."""
    if not isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    hit = memo.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    inner = "  " * (level + 1)
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, level + 1, memo, shared)}"
            for k, v in sorted(value.items())
        ]
        brackets = "{}"
    else:
        items = [f"{inner}{_pretty(v, level + 1, memo, shared)}" for v in value]
        brackets = "[]"
    if not items:
        return brackets
    text = brackets[0] + "\n" + ",\n".join(items) + "\n" + "  " * level + brackets[1]
    if id(value) in shared:
        memo[id(value)] = (value, text)
    return text


def render_call(call: Any, memo: Memo) -> str:
    """Canonical JSON text of one Call, equal to ``canonical_json(call.to_dict())``."""
    data = call.to_dict()
    data["variant"], data["provenance"] = call.variant, call.provenance  # the shared originals
    shared = frozenset((id(call.variant), id(call.provenance), id(call.qc.get("record"))))
    return _pretty(data, 0, memo, shared) + "\n"


_TSV_COLUMNS = ("sample", "status", "genotype", "carrier", "gt", "reason_codes", "depth", "gq")


def _tsv_values(call: Any) -> list[str]:
    return [
        call.sample,
        call.status.value,
        call.genotype or "",
        "" if call.carrier is None else str(call.carrier).lower(),
        call.gt or "",
        ",".join(call.reason_codes),
        "" if call.qc["depth_used"] is None else str(call.qc["depth_used"]),
        "" if call.qc["gq"] is None else str(call.qc["gq"]),
    ]


def _tsv(calls: Sequence[Any], files: Sequence[str]) -> str:
    lines = ["\t".join((*_TSV_COLUMNS, "file"))]
    rows = calls.rows(_tsv_values) if isinstance(calls, CallBatch) else map(_tsv_values, calls)
    for values, file_name in zip(rows, files, strict=True):
        lines.append("\t".join((*values, file_name)))
    return "\n".join(lines) + "\n"


def write_all_samples(out_dir: Path, calls: Sequence[Any]) -> None:
    """Write every call and calls.tsv into a fresh temporary directory, then move it into
    place: a failure leaves neither a partial directory nor a changed old one."""
    parent = out_dir.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "exists and is not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    except OSError as exc:
        raise OutputError(out_dir, f"cannot write: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        if isinstance(calls, CallBatch):  # bulk: one rendering per group of equal calls
            files = sample_file_names(calls.names)
            memo: Memo = {}
            texts = (text for _, text in calls.json_texts(lambda c: render_call(c, memo)))
        else:
            files = sample_file_names([c.sample for c in calls])
            memo = {}
            texts = (render_call(call, memo) for call in calls)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for text, file_name in zip(texts, files, strict=True):
            fd = os.open(staging / file_name, flags, 0o644)
            try:
                data = memoryview(text.encode("utf-8"))
                while data:
                    data = data[os.write(fd, data) :]
            finally:
                os.close(fd)
        (staging / "calls.tsv").write_text(_tsv(calls, files), "utf-8")
        staging.chmod(0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            out_dir.replace(old / out_dir.name)
        staging.replace(out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(out_dir, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def execute(args: argparse.Namespace) -> int:
    from pgx_report.contracts.call import Thresholds, validate_call_dict
    from pgx_report.genotype.dispatch import (
        call_all_samples,
        call_sample,
        check_multi_sample_input,
    )

    thresholds = Thresholds(min_depth=args.min_depth, min_gq=args.min_gq)
    source = Path(args.input)
    inputs = [source] + ([Path(args.reference)] if args.reference else [])
    if args.all_samples:
        check_multi_sample_input(source)
        if not args.output:
            raise UsageError(None, "--all-samples needs -o OUT (the output directory)")
        out = Path(args.output)
        check_not_input(out, inputs)
        calls: Sequence[Any] = call_all_samples(
            source, build=args.build, thresholds=thresholds, reference=args.reference
        )
        write_all_samples(out, calls)
        return 0
    options = pileup_options(args)
    call = call_sample(
        source,
        sample=args.sample,
        build=args.build,
        thresholds=thresholds,
        options=options,
        reference=args.reference,
    )
    data = call.to_dict()
    validate_call_dict(data, "internal")  # the contract holds for everything we write
    if args.output:
        check_not_input(args.output, inputs)
        write_json(args.output, data)
    else:
        sys.stdout.write(canonical_json(data))
    return 0
