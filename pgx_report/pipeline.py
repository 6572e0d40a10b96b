"""One sample end to end, in Python: call -> assess -> render -> FHIR.

:func:`run_sample` is what ``pgx-report run`` (one sample, everything written at the
end) and ``pgx-report batch`` (many samples, each step's messages in its own log,
each file written when its step is done) both run. It returns the bytes of every
output (:class:`SampleOutputs`); the caller writes them, or passes ``emit`` to have
each output handed over as soon as its step has succeeded. Every check and message is
the one the single-step commands (``call``, ``render --assess``, ``fhir``) give.

The steps are also here on their own (:func:`call_input`, :func:`assess_files`,
:func:`render_report`, :func:`fhir_bundle`), for the commands of the same names.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgx_report.contracts.call import Call, Thresholds, validate_call_dict
from pgx_report.errors import InputError
from pgx_report.files.io import (
    canonical_json,
    check_inputs,
    check_not_input,
    check_output_folder,
    read_input_bytes,
    sha256_bytes,
)
from pgx_report.files.jsonio import parse_json

if TYPE_CHECKING:
    from pgx_report.contracts.assessment import Assessment
    from pgx_report.contracts.lab import LabProfile
    from pgx_report.contracts.report import Request
    from pgx_report.genotype.dispatch import PlateOptions
    from pgx_report.genotype.pileup.options import PileupOptions
    from pgx_report.outputs.report.pdf import Report

log = logging.getLogger(__name__)

# The outputs of one sample, by key (the file names are the caller's: batch.tasks).
OUTPUT_KEYS: tuple[str, ...] = ("call", "assessment", "pdf", "html", "fhir")
Stage = Callable[[str], contextlib.AbstractContextManager[None]]
Emit = Callable[[str, bytes], None]


@dataclass(frozen=True)
class SampleTask:
    """One sample of a chunk: where its genotypes and questionnaire come from.

    Exactly one of ``input`` (a VCF/BCF/gVCF, BAM or CRAM to call), ``call`` (a call.json
    to copy) and ``cohort`` (the ``call --all-samples`` folder of a shared VCF, in which
    ``vcf_sample``'s call is looked up through its calls.tsv) is set."""

    sample: str
    questionnaire: str
    input: str | None = None
    call: str | None = None
    vcf_sample: str | None = None  # --sample: the name inside the input (or the cohort)
    lang: str | None = None
    reference: str | None = None  # --reference FASTA
    cohort: str | None = None  # a call --all-samples folder
    # the request and specimen (sample-sheet columns; contracts.report.Request)
    specimen_type: str | None = None
    specimen_id: str | None = None
    collected: str | None = None
    received: str | None = None
    requested_by: str | None = None
    indication: str | None = None

    def request(self) -> Request | None:
        """The task's request and specimen, None when it has none."""
        from pgx_report.contracts.report import REQUEST_FIELDS, Request

        request = Request(**{name: getattr(self, name) for name in REQUEST_FIELDS})
        return request or None

    def to_dict(self) -> dict[str, str]:
        fields = {
            "sample": self.sample,
            "questionnaire": self.questionnaire,
            "input": self.input,
            "call": self.call,
            "vcf_sample": self.vcf_sample,
            "lang": self.lang,
            "reference": self.reference,
            "cohort": self.cohort,
            "specimen_type": self.specimen_type,
            "specimen_id": self.specimen_id,
            "collected": self.collected,
            "received": self.received,
            "requested_by": self.requested_by,
            "indication": self.indication,
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class CallSettings:
    """How the genotype is called (the options of ``pgx-report call``)."""

    build: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    pileup: PileupOptions | None = None  # None: the pileup defaults
    plate: PlateOptions | None = None  # targeted assay plates: --assays, --min-quality
    full_digest: bool = False  # also hash the whole input (--full-digest)


@dataclass(frozen=True)
class ReportSettings:
    """How the assessment is made and rendered.

    ``lang`` is the report's language (else the assessment's); ``assessment_language``
    the language recorded in the assessment (``run`` and ``assess``: the requested one;
    ``render --assess`` and ``batch``: None, so the questionnaire's). ``lab`` is the
    laboratory's profile (``--lab``, :func:`pgx_report.contracts.lab.load_lab`), None
    when not configured; ``request`` the request and specimen printed in the report."""

    lang: str | None = None
    assessment_language: str | None = None
    lab: LabProfile | None = None
    templates: Path | None = None
    allow_sample_mismatch: bool = False
    request: Request | None = None

    @property
    def lab_inputs(self) -> list[Path]:
        """The profile file, as an input no output may overwrite."""
        return [] if self.lab is None else [self.lab.path]


@dataclass(frozen=True)
class SampleOutputs:
    """The bytes of one sample's outputs (``fhir`` None when not exported)."""

    call: bytes
    assessment: bytes
    pdf: bytes
    html: bytes
    fhir: bytes | None = None


# ---- the steps -------------------------------------------------------------------------


def call_input(
    source: str | Path,
    *,
    sample: str | None = None,
    reference: str | None = None,
    settings: CallSettings | None = None,
    self_check: bool = True,
) -> Call:
    """One sample's call from a VCF/BCF/gVCF, BAM or CRAM, checked against the contract.

    ``self_check``: validate the call we built against call.schema.json (JSON Schema,
    ~0.1 s of imports). ``pgx-report call`` skips it unless ``PGX_REPORT_SELF_CHECK=1``
    (the tests set it): every reader of a call.json validates it anyway."""
    from pgx_report.genotype.dispatch import call_sample
    from pgx_report.genotype.isolated import isolated

    settings = settings or CallSettings()
    check_inputs([source, *([reference] if reference else [])])
    call = isolated(  # in a reader process: a crash of htslib fails this call only
        source,
        call_sample,
        Path(source),
        sample=sample,
        build=settings.build,
        thresholds=settings.thresholds,
        options=settings.pileup,
        reference=reference,
        plate=settings.plate,
        full_digest=settings.full_digest,
    )
    if self_check:
        validate_call_dict(call.to_dict(), "internal")  # the contract holds for all we write
    return call


def write_calls(
    source: str | Path,
    output: str | None,
    *,
    sample: str | None = None,
    all_samples: bool = False,
    reference: str | None = None,
    settings: CallSettings | None = None,
) -> None:
    """``pgx-report call``: one sample's call to ``output`` (else stdout), or with
    ``all_samples`` every sample of a VCF/BCF into the directory ``output``."""
    import sys

    from pgx_report.errors import UsageError
    from pgx_report.files.io import write_json
    from pgx_report.genotype.dispatch import check_multi_sample_input

    settings = settings or CallSettings()
    source = Path(source)
    inputs = [source] + ([Path(reference)] if reference else [])
    if settings.plate is not None and settings.plate.assays is not None:
        inputs.append(Path(settings.plate.assays))
    check_inputs(inputs)
    if all_samples:
        check_multi_sample_input(source)
        if not output:
            raise UsageError(None, "--all-samples needs -o OUT (the output directory)")
        check_output_folder(output, inputs)
        from pgx_report.genotype.isolated import isolated

        # read and written in a child: a crash of htslib is one clear line (exit 1)
        out = Path(output)
        isolated(source, _write_all_samples, source, out, reference, settings)
        return
    import os

    self_check = os.environ.get("PGX_REPORT_SELF_CHECK") == "1"
    call = call_input(
        source, sample=sample, reference=reference, settings=settings, self_check=self_check
    )
    data = call.to_dict()
    if output:
        check_not_input(output, inputs)
        write_json(output, data)
    else:
        sys.stdout.write(canonical_json(data))


def _write_all_samples(
    source: Path, out: Path, reference: str | None, settings: CallSettings
) -> None:
    from pgx_report.genotype.dispatch import call_all_samples
    from pgx_report.outputs.call_json import write_all_samples

    calls: Sequence[Any] = call_all_samples(
        source,
        build=settings.build,
        thresholds=settings.thresholds,
        reference=reference,
        plate=settings.plate,
        full_digest=settings.full_digest,
    )
    write_all_samples(out, calls)


def call_from_bytes(data: bytes, source: Path) -> Call:
    """A call.json's content (as ``load_call`` reads the file, with its messages)."""
    return Call.from_dict(parse_json(data, source), source)


def assess_call(
    call: Call,
    call_bytes: bytes,
    call_path: str | Path,
    questionnaire_path: str | Path,
    settings: ReportSettings,
) -> Assessment:
    """The assessment of a call (whose JSON is ``call_bytes``, at ``call_path``) and a
    questionnaire file, with the knowledge base; provenance names both files. The call is
    named by its file name and SHA-256 (like the genotype input), not by its folder: a
    call written by this run into any output folder gives the same bytes."""
    from pgx_report.clinical.assessment import assess, default_inputs
    from pgx_report.clinical.knowledge import load_knowledge_base
    from pgx_report.clinical.questionnaire import load_questionnaire

    questionnaire = load_questionnaire(questionnaire_path)
    kb = load_knowledge_base()
    inputs = default_inputs(
        call,
        questionnaire,
        call_path=Path(call_path).name,
        call_sha256=sha256_bytes(call_bytes),
    )
    return assess(
        call,
        questionnaire,
        kb,
        inputs=inputs,
        allow_sample_mismatch=settings.allow_sample_mismatch,
        language=settings.assessment_language,
    )


def assess_files(
    call_path: str | Path, questionnaire_path: str | Path, settings: ReportSettings
) -> Assessment:
    """The assessment of a call.json and a questionnaire file (``assess``, ``render --assess``)."""
    path = Path(call_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    return assess_call(call_from_bytes(data, path), data, call_path, questionnaire_path, settings)


def assess_to_file(
    call_path: str | Path,
    questionnaire_path: str | Path,
    output: str | Path,
    settings: ReportSettings,
) -> Assessment:
    """``pgx-report assess``: the assessment of two files, written to ``output``."""
    from pgx_report.files.io import write_json

    check_not_input(output, [call_path, questionnaire_path])
    result = assess_files(call_path, questionnaire_path, settings)
    write_json(output, result.to_dict())
    return result


def render_report(
    assessment_bytes: bytes, source: str | Path, settings: ReportSettings, templates: Path
) -> Report:
    """The PDF and HTML report of an assessment's JSON (``source`` names it)."""
    from pgx_report.outputs.report.pdf import parse_assessment, render_pdf
    from pgx_report.outputs.report.view import choose_language

    assessment = parse_assessment(assessment_bytes, source)
    lang = choose_language(settings.lang, assessment)
    return render_pdf(
        assessment,
        assessment_bytes,
        lang,
        templates,
        source=source,
        lab=settings.lab,
        request=settings.request,
    )


def render_files(
    assessment_path: Path,
    output: Path,
    html: Path | None,
    *,
    assess: Sequence[Path] | None = None,
    settings: ReportSettings | None = None,
) -> None:
    """``pgx-report render``: the PDF (and HTML) of an assessment file, or with
    ``assess`` (CALL.json, QUESTIONNAIRE) of the assessment made first and written to
    ``assessment_path``. Nothing is written unless every step succeeds."""
    from pgx_report.errors import UsageError
    from pgx_report.files.io import atomic_write_bytes, atomic_write_text
    from pgx_report.outputs.report.pdf import find_templates, read_assessment

    settings = settings or ReportSettings()
    outputs = [output, *([html] if html else [])]
    if html is not None and Path(html).resolve() == Path(output).resolve():
        raise UsageError(html, "--html and -o name the same file")
    inputs: Sequence[Path] = [assessment_path]
    if assess is not None:
        if Path(assessment_path).resolve() in {Path(path).resolve() for path in outputs}:
            raise UsageError(assessment_path, "ASSESSMENT and -o/--html name the same file")
        outputs.append(assessment_path)
        inputs = assess
    for path in outputs:
        check_not_input(path, [*inputs, *settings.lab_inputs])
    templates = find_templates(settings.templates)
    if assess is None:
        _, data = read_assessment(assessment_path)
    else:
        made = assess_files(assess[0], assess[1], settings)
        data = canonical_json(made.to_dict()).encode("utf-8")
    # Rendered from its JSON text, like a file written by `assess`: the same PDF bytes.
    report = render_report(data, assessment_path, settings, templates)
    assert report.pdf is not None
    if assess is not None:
        atomic_write_bytes(assessment_path, data)
    atomic_write_bytes(output, report.pdf)
    if html is not None:
        atomic_write_text(html, report.html)


def fhir_bundle(assessment: Assessment, pdf: bytes | None, source: str | Path) -> dict[str, Any]:
    """The FHIR Genomics Reporting bundle of an assessment (``pdf`` attached)."""
    from pgx_report.outputs.fhir.bundle import build_bundle

    report = None
    if pdf is not None:  # the report's status and release, from the PDF's report.json
        from pgx_report.contracts.report import ATTACHMENT_NAME
        from pgx_report.outputs.report.embedded import embedded_files, embedded_report_info

        if ATTACHMENT_NAME in embedded_files(pdf, source):
            report = embedded_report_info(pdf, source)
    return build_bundle(assessment, pdf, source=source, report=report)


def _fhir_bytes(assessment: Assessment, pdf: bytes | None, source: Path, output: Path) -> bytes:
    bundle = fhir_bundle(assessment, pdf, source)
    data = canonical_json(bundle).encode("utf-8")
    log.info("wrote %s (%d resources, %d bytes)", output, len(bundle["entry"]), len(data))
    return data


def fhir_to_file(assessment_path: Path, pdf_path: Path | None, output: Path) -> None:
    """``pgx-report fhir``: the bundle of an assessment file (and its PDF) to ``output``."""
    from pgx_report.contracts.assessment import load_assessment
    from pgx_report.files.io import atomic_write_bytes

    check_not_input(output, [assessment_path, *([pdf_path] if pdf_path else [])])
    # load_assessment validates against the assessment schema (a bad file: exit 2)
    assessment = load_assessment(assessment_path)
    pdf = None
    if pdf_path is not None:  # only the report of this very assessment (its embedded copy)
        from pgx_report.outputs.report.embedded import read_report_of

        pdf = read_report_of(pdf_path, assessment_path)
    atomic_write_bytes(output, _fhir_bytes(assessment, pdf, assessment_path, output))


def assessment_from_bytes(data: bytes, source: Path) -> Assessment:
    """An assessment.json's content, read as ``load_assessment`` reads the file."""
    from pgx_report.contracts.assessment import assessment_from_json

    return assessment_from_json(parse_json(data, source), source)


# ---- one sample ------------------------------------------------------------------------


@contextlib.contextmanager
def _no_stage(_name: str) -> Iterator[None]:
    yield


def _keep(_key: str, _data: bytes) -> None:
    pass


def _call_step(
    task: SampleTask, paths: Mapping[str, Path], settings: CallSettings
) -> tuple[Call | None, bytes]:
    """The call's JSON: called from the task's input, or the cohort call copied."""
    if task.call is not None:
        return None, read_input_bytes(Path(task.call))
    if task.cohort is not None:
        from pgx_report.outputs.call_json import cohort_call_file

        assert task.vcf_sample is not None  # parse_tasks guarantees it
        return None, cohort_call_file(task.cohort, task.vcf_sample)[1]
    assert task.input is not None  # parse_tasks guarantees one of the two
    inputs: list[str | Path] = [Path(task.input), *([task.reference] if task.reference else [])]
    call = call_input(
        task.input, sample=task.vcf_sample, reference=task.reference, settings=settings
    )
    check_not_input(paths["call"], inputs)
    return call, canonical_json(call.to_dict()).encode("utf-8")


def run_sample(
    task: SampleTask,
    paths: Mapping[str, Path],
    *,
    calling: CallSettings | None = None,
    report: ReportSettings | None = None,
    fhir: bool = True,
    stage: Stage = _no_stage,
    emit: Emit = _keep,
) -> SampleOutputs:
    """Call, assess, render (and export to FHIR) one sample; ``paths`` are where its
    outputs go (keys of :data:`OUTPUT_KEYS`: named in provenance and checked not to be
    inputs); ``task.lang``, if set, is the report's language. Each step runs inside
    ``stage(step)`` (``call``, ``report``, ``fhir``), and each output is given to
    ``emit(key, bytes)`` when its step has succeeded."""
    from pgx_report.outputs.report.pdf import find_templates

    report = report or ReportSettings()
    if task.lang:  # the task's language is the report's (as `render --lang`)
        report = replace(report, lang=task.lang)
    if task.request() is not None:  # the task's request and specimen (sheet columns)
        report = replace(report, request=task.request())
    with stage("call"):
        _call, call_bytes = _call_step(task, paths, calling or CallSettings())
        emit("call", call_bytes)
    with stage("report"):
        questionnaire = Path(task.questionnaire)
        for key in ("pdf", "html", "assessment"):
            check_not_input(paths[key], [paths["call"], questionnaire, *report.lab_inputs])
        templates = find_templates(report.templates)
        call = call_from_bytes(call_bytes, paths["call"])
        assessment = assess_call(call, call_bytes, paths["call"], questionnaire, report)
        assessment_bytes = canonical_json(assessment.to_dict()).encode("utf-8")
        rendered = render_report(assessment_bytes, paths["assessment"], report, templates)
        assert rendered.pdf is not None
        html = rendered.html.encode("utf-8")
        for key, data in (("assessment", assessment_bytes), ("pdf", rendered.pdf), ("html", html)):
            emit(key, data)
    bundle: bytes | None = None
    if fhir:
        with stage("fhir"):
            check_not_input(paths["fhir"], [paths["assessment"], paths["pdf"]])
            exported = assessment_from_bytes(assessment_bytes, paths["assessment"])
            bundle = _fhir_bytes(exported, rendered.pdf, paths["assessment"], paths["fhir"])
            emit("fhir", bundle)
    return SampleOutputs(call_bytes, assessment_bytes, rendered.pdf, html, bundle)


def write_outputs(outputs: SampleOutputs, paths: Mapping[str, Path], keys: Sequence[str]) -> None:
    """Write the ``keys`` of ``outputs`` to their ``paths`` (each file atomically)."""
    from pgx_report.files.io import atomic_write_bytes

    for key in keys:
        data = getattr(outputs, key)
        if data is not None:
            atomic_write_bytes(paths[key], data)


RUN_OUTPUTS: dict[str, str] = {
    "call": "call.json",
    "assessment": "assessment.json",
    "pdf": "report.pdf",
    "html": "report.html",
}


def run_to_folder(
    source: Path,
    questionnaire: Path,
    outdir: Path,
    *,
    sample: str | None = None,
    reference: str | None = None,
    calling: CallSettings | None = None,
    report: ReportSettings | None = None,
) -> SampleOutputs:
    """``pgx-report run``: call, assess and render one sample into ``outdir``; nothing
    is written until every step has succeeded, and then the folder is replaced as a
    whole (all old outputs or all new, never a mix). An existing ``outdir`` holding
    anything but these outputs is refused before any work."""
    from pgx_report.files.folder import atomic_folder, check_own_folder
    from pgx_report.outputs.report.pdf import find_templates

    report = report or ReportSettings()
    check_own_folder(outdir, RUN_OUTPUTS.values())
    paths = {key: outdir / name for key, name in RUN_OUTPUTS.items()}
    for path in paths.values():
        inputs: list[str | Path] = [source, questionnaire, *report.lab_inputs]
        inputs += [reference] if reference else []
        check_not_input(path, inputs)
    find_templates(report.templates)  # a bad --templates fails before the call
    task = SampleTask(
        sample=str(outdir),
        questionnaire=str(questionnaire),
        input=str(source),
        vcf_sample=sample,
        reference=reference,
    )
    outputs = run_sample(task, paths, calling=calling, report=report, fhir=False)
    with atomic_folder(outdir, RUN_OUTPUTS.values()) as staging:
        write_outputs(outputs, {k: staging / n for k, n in RUN_OUTPUTS.items()}, tuple(RUN_OUTPUTS))
    return outputs
