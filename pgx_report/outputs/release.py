"""Releasing and amending a report: ``pgx-report release`` and ``pgx-report amend``.

A report is rendered preliminary (``render``, ``run``, the workflow). A lab member who
has reviewed it releases it: :func:`release_report` reads the assessment and the
report's identity embedded in the preliminary PDF (refusing a PDF that is not a
pgx-report preliminary report, or whose embedded files do not match each other),
renders it again with status FINAL and the reviewer and time in the sign-off block,
and logs the release (:mod:`pgx_report.outputs.release_log`). :func:`amend_report`
replaces a released report with version n+1 (AMENDED, or CORRECTED) from a new
assessment of the same patient and sample: page 1 opens with a banner naming the
version it replaces, its date and SHA-256, the reason and what changed.

Everything is checked before anything is written (the release log included); the time
is an input (``--at``), never the clock, so a rerun gives the same bytes. A rerun whose
log line is already in the log writes the same files again and logs nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pgx_report.contracts.assessment import Assessment
from pgx_report.contracts.lab import LabProfile, load_lab
from pgx_report.contracts.report import RELEASED, Replaces, ReportInfo, report_id_for
from pgx_report.errors import InputError, UsageError
from pgx_report.files.io import (
    atomic_write_bytes,
    atomic_write_text,
    canonical_json,
    check_not_input,
    read_input_bytes,
)
from pgx_report.outputs.release_log import (
    LogEntry,
    append_entry,
    check_append,
    log_path_for,
    logged_name,
    parse_at,
    read_log,
)
from pgx_report.outputs.report.embedded import (
    PdfError,
    embedded_assessment,
    embedded_report_info,
)


class ReleaseError(InputError):
    """A report cannot be released or amended as asked (exit 2)."""


@dataclass(frozen=True)
class Outputs:
    """Where a release writes: the PDF, and optionally the HTML and the FHIR bundle."""

    pdf: Path
    html: Path | None = None
    fhir: Path | None = None
    log: Path | None = None  # default: release-log.jsonl beside the PDF

    @property
    def log_path(self) -> Path:
        return self.log if self.log is not None else log_path_for(self.pdf)


@dataclass(frozen=True)
class Release:
    """Who releases, when, and with what laboratory profile."""

    reviewer: str
    at: str
    lab: Path | None
    override: str | None = None  # released although the batch QC verdict was not OK
    templates: Path | None = None


@dataclass(frozen=True)
class Written:
    """What a release or amendment produced (all in memory until :func:`write`)."""

    outputs: Outputs
    pdf: bytes
    html: str
    fhir: bytes | None
    entry: LogEntry
    info: ReportInfo


def release_lab(path: Path | None) -> LabProfile:
    """The laboratory's profile (``--lab LAB.yaml``), validated; a release needs one."""
    if path is None:
        raise UsageError(
            "--lab",
            "a report is released only with the laboratory's profile: give --lab LAB.yaml",
        )
    return load_lab(path)


def read_report(path: Path) -> tuple[bytes, ReportInfo, Assessment, bytes]:
    """A report PDF's bytes, its identity, and its embedded assessment (typed, bytes)."""
    from pgx_report.outputs.report.pdf import parse_assessment

    pdf = read_input_bytes(path, PdfError)
    info = embedded_report_info(pdf, path)
    data = embedded_assessment(pdf, path)
    try:
        assessment = parse_assessment(data, path)
    except InputError as exc:
        raise PdfError(path, f"embedded assessment.json: {exc.message}") from None
    return pdf, info, assessment, data


def _check_reviewer(reviewer: str) -> None:
    text = " ".join(reviewer.split())
    if text != reviewer or "," not in reviewer or not reviewer.split(",", 1)[1].strip():
        raise UsageError(
            "--reviewer",
            f'{reviewer[:60]!r}: give the reviewer as one line "NAME, ROLE" '
            '(e.g. "Kari Nordmann, lege i spesialisering")',
        )


def _render(
    assessment: Assessment, data: bytes, info: ReportInfo, lab: LabProfile, release: Release
) -> tuple[bytes, str]:
    from pgx_report.outputs.report.pdf import find_templates, render_pdf

    report = render_pdf(
        assessment, data, info.language, find_templates(release.templates), lab=lab, report=info
    )
    assert report.pdf is not None
    return report.pdf, report.html


def _fhir(assessment: Assessment, pdf: bytes, info: ReportInfo, source: Path) -> bytes:
    from pgx_report.outputs.fhir.bundle import build_bundle

    return canonical_json(build_bundle(assessment, pdf, source=source, report=info)).encode()


def _finish(
    assessment: Assessment,
    data: bytes,
    info: ReportInfo,
    previous: tuple[Path, bytes],
    release: Release,
    outputs: Outputs,
    inputs: Sequence[Path] = (),
) -> Written:
    """Render ``info``'s report, build its FHIR bundle and log line, check the log."""
    for output in (outputs.pdf, outputs.html, outputs.fhir):
        if output is not None:
            check_not_input(output, [previous[0], *inputs, *([release.lab] if release.lab else [])])
    lab = release_lab(release.lab)
    info = replace(info, lab=lab.record())
    pdf, html = _render(assessment, data, info, lab, release)
    fhir = _fhir(assessment, pdf, info, previous[0]) if outputs.fhir is not None else None
    log = outputs.log_path
    entry = LogEntry(
        report_id=info.report_id,
        version=info.version,
        status=info.status,
        reviewer=release.reviewer,
        at=release.at,
        pdf=logged_name(outputs.pdf, log),
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        previous_pdf=logged_name(previous[0], log),
        previous_sha256=hashlib.sha256(previous[1]).hexdigest(),
        reason=info.reason,
        override=info.override,
    )
    if not _already_logged(log, entry):
        check_append(log, entry)
    return Written(outputs, pdf, html, fhir, entry, info)


def _already_logged(log: Path, entry: LogEntry) -> bool:
    return log.is_file() and entry in read_log(log)


def write(written: Written) -> None:
    """Write the outputs of a release, then append its line to the log (once)."""
    out = written.outputs
    atomic_write_bytes(out.pdf, written.pdf)
    if out.html is not None:
        atomic_write_text(out.html, written.html)
    if out.fhir is not None and written.fhir is not None:
        atomic_write_bytes(out.fhir, written.fhir)
    if not _already_logged(out.log_path, written.entry):
        append_entry(out.log_path, written.entry)


def prepare_release(preliminary: Path, release: Release, outputs: Outputs) -> Written:
    """The final report of a preliminary report PDF, checked and rendered, not written."""
    parse_at(release.at)
    _check_reviewer(release.reviewer)
    release_lab(release.lab)  # refused without a valid profile before the PDF is read
    pdf, info, assessment, data = read_report(preliminary)
    if info.status != "preliminary":
        raise ReleaseError(
            preliminary,
            f"is a {info.status} report (version {info.version}), not a preliminary one: "
            "a released report is changed with `pgx-report amend`",
        )
    if info.report_id != report_id_for(assessment) or info.version != 1:
        raise ReleaseError(
            preliminary,
            f"embedded report.json (report {info.report_id} version {info.version}) does "
            "not match the embedded assessment: the PDF was altered",
        )
    final = replace(
        info,
        status="final",
        reviewer=release.reviewer,
        released_at=release.at,
        replaces=Replaces(1, "preliminary", None, hashlib.sha256(pdf).hexdigest()),
        override=release.override,
    )
    return _finish(assessment, data, final, (preliminary, pdf), release, outputs)


def release_report(preliminary: Path, release: Release, outputs: Outputs) -> Written:
    """``pgx-report release``: check, render, write, log."""
    written = prepare_release(preliminary, release, outputs)
    write(written)
    return written


def _same_subject(previous: Path, old: Assessment, new: Assessment, source: Path) -> None:
    for what, before, after in (
        ("patient id", str(old.patient["id"]), str(new.patient["id"])),
        ("sample", old.sample_id, new.sample_id),
    ):
        if before != after:
            raise ReleaseError(
                source,
                f"{what} {after!r} is not the {what} of {previous} ({before!r}): "
                "an amendment replaces a report of the same patient and sample",
            )


def amend_report(
    previous: Path,
    assessment_path: Path,
    reason: str,
    release: Release,
    outputs: Outputs,
    *,
    corrected: bool = False,
) -> Written:
    """``pgx-report amend``: version n+1 (amended, or corrected) of a released report."""
    from pgx_report.outputs.report.changes import describe_changes, no_changes_text
    from pgx_report.outputs.report.pdf import read_assessment

    parse_at(release.at)
    _check_reviewer(release.reviewer)
    if not reason.strip() or " ".join(reason.split()) != reason:
        raise UsageError("--reason", "give the reason for the amendment as one line of text")
    release_lab(release.lab)
    old_pdf, info, old, _ = read_report(previous)
    if info.status not in RELEASED:
        raise ReleaseError(
            previous,
            f"is a {info.status} report: only a released (final, amended or corrected) "
            "report is amended; release it first with `pgx-report release`",
        )
    if info.released_at is not None and parse_at(release.at) < parse_at(info.released_at):
        raise UsageError(
            "--at",
            f"{release.at} is before the release of version {info.version} of "
            f"{previous} ({info.released_at}): an amendment comes after what it replaces",
        )
    new, data = read_assessment(assessment_path)
    _same_subject(previous, old, new, assessment_path)
    templates = release.templates
    changes = describe_changes(old, new, info.language, templates) or [
        no_changes_text(info.language, templates)
    ]
    amended = ReportInfo(
        report_id=info.report_id,
        version=info.version + 1,
        status="corrected" if corrected else "amended",
        language=info.language,
        assessment_sha256=hashlib.sha256(data).hexdigest(),
        reviewer=release.reviewer,
        released_at=release.at,
        replaces=Replaces(
            info.version, info.status, info.released_at, hashlib.sha256(old_pdf).hexdigest()
        ),
        reason=reason,
        changes=tuple(changes),
        request=info.request,  # the request and specimen stay those of the report
    )
    written = _finish(new, data, amended, (previous, old_pdf), release, outputs, [assessment_path])
    write(written)
    return written


def check_distinct(paths: Sequence[Path | None]) -> None:
    """Refuse two outputs named the same (``-o``, ``--html``, ``--fhir``)."""
    seen: dict[Path, Path] = {}
    for path in paths:
        if path is None:
            continue
        key = path.resolve()
        if key in seen:
            raise UsageError(path, f"names the same file as {seen[key]}")
        seen[key] = path
