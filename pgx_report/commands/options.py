"""Argument helpers shared by several commands (``call``, ``run``, ``render``, ``validate``,
``batch``).

Not a command: no ``add_subcommand`` here, so no command imports another."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pgx_report.contracts.call import Thresholds
    from pgx_report.contracts.lab import LabProfile


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def add_threshold_options(parser: Any) -> None:
    """--build, --min-depth, --min-gq on ``parser`` (a parser or an argument group)."""
    parser.add_argument(
        "--build",
        choices=("GRCh37", "GRCh38"),
        help="reference build, when the header does not say or says two things "
        "(cannot overrule the chromosome 6 length in the header)",
    )
    add_quality_gate_options(parser)


GateHelp = Literal["call", "validate", "forwarded"]


def _gate_help(style: GateHelp, depth: int, gq: int) -> tuple[str, str]:
    if style == "forwarded":  # batch: None = the caller's default, passed on to `call`
        return ("passed to `call` (see call --help)",) * 2
    if style == "validate":
        return (
            f"as for `pgx-report call` (default {depth}): validate the thresholds "
            "you use in production",
            f"as for `pgx-report call` (default {gq})",
        )
    return (
        f"minimum read depth at the site; for gVCF blocks MIN_DP (default {depth}"
        ", 0 = no depth gate). Lowering it can hide a poorly supported genotype: "
        "do it knowingly",
        f"minimum genotype quality GQ (default {gq}, 0 = no GQ gate). "
        "Lowering it can hide a poorly supported genotype: do it knowingly",
    )


def add_quality_gate_options(parser: Any, *, style: GateHelp = "call") -> None:
    """--min-depth and --min-gq on ``parser`` (a parser or an argument group), the one
    definition of the quality gates for ``call``, ``run``, ``validate`` and ``batch``.

    ``style`` picks the help text; with ``"forwarded"`` (``batch``) an option not given
    is None (``call``'s default applies), else it defaults to :class:`Thresholds`'."""
    from pgx_report.contracts.call import Thresholds

    defaults = Thresholds()
    depth_help, gq_help = _gate_help(style, defaults.min_depth, defaults.min_gq)
    forwarded = style == "forwarded"
    for flag, default, text in (
        ("--min-depth", defaults.min_depth, depth_help),
        ("--min-gq", defaults.min_gq, gq_help),
    ):
        parser.add_argument(
            flag, type=non_negative, default=None if forwarded else default, metavar="N", help=text
        )


def thresholds(args: argparse.Namespace) -> Thresholds:
    """The quality gates from the options of :func:`add_quality_gate_options`."""
    from pgx_report.contracts.call import Thresholds

    return Thresholds(min_depth=args.min_depth, min_gq=args.min_gq)


def add_plate_options(parser: Any) -> None:
    """--assays and --min-quality (targeted assay plates, docs/targeted.md)."""
    from pgx_report.genotype.plate import DEFAULT_MIN_QUALITY

    group = parser.add_argument_group("targeted genotyping assay plates (docs/targeted.md)")
    group.add_argument(
        "--assays",
        metavar="YAML",
        help="the lab's assay definitions: which plate assay is rs1799971 and which allele "
        "name is A and which G (required for a QuantStudio plate export)",
    )
    group.add_argument(
        "--min-quality",
        type=float,
        default=DEFAULT_MIN_QUALITY,
        metavar="PCT",
        help=f"minimum Quality(%%) of a well (default {DEFAULT_MIN_QUALITY:g}; 0 = no gate)",
    )


def plate_options(args: argparse.Namespace) -> Any:
    """The PlateOptions from the options of :func:`add_plate_options`."""
    from pgx_report.genotype.dispatch import PlateOptions

    if not 0 <= args.min_quality <= 100:
        from pgx_report.errors import UsageError

        raise UsageError(None, f"--min-quality {args.min_quality:g}: must be 0 to 100")
    return PlateOptions(assays=args.assays, min_quality=args.min_quality)


def add_digest_option(parser: Any) -> None:
    """``--full-digest``: the whole file's SHA-256 besides the region digest."""
    parser.add_argument(
        "--full-digest",
        action="store_true",
        help="also hash every byte of the genotype input (SHA-256, and MD5 when a FILE.md5 "
        "sidecar is there to compare): costs ~0.75 s per GB; without it the call records a "
        "region digest of what it read (docs/calling.md, 'Input digest')",
    )


def add_alignment_options(parser: argparse.ArgumentParser) -> None:
    """The --reference and pileup options, in their own argument group of ``parser``."""
    from pgx_report.genotype.pileup.options import PileupOptions

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
    from pgx_report.genotype.pileup.options import PileupOptions

    return PileupOptions(
        min_base_quality=args.min_base_quality,
        min_mapping_quality=args.min_mapping_quality,
        error_rate=args.error_rate,
    )


def add_report_options(group: argparse._ArgumentGroup) -> None:
    """Options shared by ``render`` and ``run``."""
    group.add_argument(
        "--lang",
        choices=("nb", "en"),
        default=None,
        help="report language (default: the questionnaire's language, else en)",
    )
    group.add_argument(
        "--lab",
        metavar="LAB.yaml",
        type=Path,
        default=None,
        help="the laboratory's profile (name, address, accreditation, method, ...; see "
        "demo/lab.yaml and docs/report.md); without it the report says that the laboratory "
        "details are not configured",
    )
    group.add_argument(
        "--templates",
        metavar="DIR",
        type=Path,
        default=None,
        help="report templates folder (default: the one installed with pgx-report)",
    )


def lab_profile(args: argparse.Namespace) -> LabProfile | None:
    """The laboratory profile of ``--lab`` (validated; exit 2 naming the field), or None."""
    if args.lab is None:
        return None
    from pgx_report.contracts.lab import load_lab

    return load_lab(args.lab)


REQUEST_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (option, field, metavar, help)
    ("--specimen-type", "specimen_type", "TEXT", "specimen type (e.g. EDTA blood, saliva)"),
    ("--specimen-id", "specimen_id", "ID", "specimen / accession id"),
    ("--collected", "collected", "YYYY-MM-DD", "date the specimen was collected"),
    ("--received", "received", "YYYY-MM-DD", "date the laboratory received it"),
    ("--requested-by", "requested_by", "NAME", "requesting clinician"),
    ("--indication", "indication", "TEXT", "indication for the test"),
)


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """The request and specimen printed in the report (``run``, ``render``); the
    sample sheet has the same columns (docs/workflow.md)."""
    group = parser.add_argument_group("request and specimen (printed in the report, and FHIR)")
    for flag, field, metavar, text in REQUEST_OPTIONS:
        group.add_argument(flag, dest=field, metavar=metavar, default=None, help=text)


def request_option(args: argparse.Namespace) -> Any:
    """The checked Request of :func:`add_request_options` (None when none is given);
    a bad value is exit 2 naming the option."""
    from pgx_report.contracts.report import Request, request_problem
    from pgx_report.errors import UsageError

    request = Request(**{field: getattr(args, field) for _f, field, _m, _h in REQUEST_OPTIONS})
    problem = request_problem(request)
    if problem is not None:
        flag = next(f for f, field, _m, _h in REQUEST_OPTIONS if field == problem[0])
        raise UsageError(flag, problem[1])
    return request or None
