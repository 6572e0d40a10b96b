"""Render the clinician report (HTML, and PDF/A-3b) from an assessment; the one PDF writer.

The display values are built in Python, from the typed assessment
(:mod:`pgx_report.outputs.report.view`); the Jinja2 templates in ``templates/`` only loop
and print. This module turns the view into HTML and PDF.

Safety:
- Jinja2 autoescapes everything (``autoescape=True``) and fails on a misspelt
  variable (``StrictUndefined``), so a patient name such as
  ``<img src="file:///etc/passwd">`` is printed as text.
- WeasyPrint fetches through :class:`AssetFetcher`, which serves only files
  inside the templates folder (the bundled CSS and fonts) and stops the render
  for any other URL (``file://`` elsewhere, ``http(s)://``, ``data:``).
- Texts that go into the page's margin boxes are written as fully hex-escaped
  CSS strings (:func:`pgx_report.outputs.report.view.css_string`).

Reproducibility: every date comes from the assessment (``dates.reported_on``);
``SOURCE_DATE_EPOCH`` is set to that date while the PDF is written, and the
fonts are bundled, so the same assessment gives the same PDF bytes.

WeasyPrint is imported lazily (only :func:`write_pdf` needs it), through
:mod:`pgx_report.outputs.report.weasyprint_patches`. :func:`write_pdf` is the one
WeasyPrint call of pgx-report: the report, the batch summary and the validation report
(:mod:`pgx_report.validation.render`) go through it, with :func:`asset_fetcher`,
:func:`stylesheet`, :func:`attachment` and :func:`source_date_epoch`.
The 3.4 MB CJK font is declared to WeasyPrint only for a report with a character the
DejaVu faces lack and it has (:func:`needs_cjk_font`); other reports come out the same
without it.

Per-process caches (a ``pgx-report batch`` process renders many reports in a row): the
labels, the Jinja2 environment, the parsed stylesheets with their font configuration
(:func:`_engine`) and the fonts' glyph coverage are built once. Each is keyed by the
templates folder and the stamp (inode, size, mtime, ctime) of the files it was built
from, so an edited template, stylesheet, label file or font is read again, never
served stale (Jinja2 itself checks each template's modification time). None of this
changes a byte of the output: a warm render gives the same PDF as the first one.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import io
import logging
import os
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
import yaml
from markupsafe import Markup

from pgx_report.clinical.knowledge import safe_load_yaml
from pgx_report.contracts.assessment import Assessment, as_assessment, assessment_from_json
from pgx_report.contracts.lab import LabProfile
from pgx_report.contracts.languages import LANGUAGES
from pgx_report.contracts.report import ATTACHMENT_NAME as REPORT_ATTACHMENT
from pgx_report.contracts.report import ReportInfo, Request, preliminary
from pgx_report.errors import PgxError
from pgx_report.files.io import read_input_bytes
from pgx_report.files.jsonio import parse_json
from pgx_report.outputs.report.view import build_view
from pgx_report.outputs.report.weasyprint_patches import (
    compress_streams_once,
    cyclic_gc_paused,
    import_weasyprint,
    repair_html_parser_cache,
)
from pgx_report.paths import TEMPLATE_DIRS

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration

log = logging.getLogger(__name__)

TEMPLATE_NAME = "report.html.j2"
STYLESHEET = "report.css"
FONTS_STYLESHEET = "fonts.css"
CJK_FONTS_STYLESHEET = "fonts-cjk.css"  # @font-face of CJK_FONT, declared only when needed
CJK_FONT = "DroidSansFallback.ttf"
LABELS_FILE = "i18n.yaml"
PDF_VARIANT = "pdf/a-3b"
ATTACHMENT_NAME = "assessment.json"
# The stand-alone .html file has no bundled fonts (a browser would have to fetch them):
# it names common system fonts instead.
HTML_FONT_FALLBACK = (
    '\nhtml, table.factors, .mono { font-family: "DejaVu Sans", "Noto Sans", "Segoe UI", '
    "Arial, sans-serif; }\n"
)


class TemplateError(PgxError):
    """The report templates are missing, broken, or asked for a forbidden resource."""


# --------------------------------------------------------------------------- templates


def find_templates(explicit: str | Path | None = None) -> Path:
    """The templates folder: ``explicit``, else the installed package's, else the repo's.

    An installed wheel carries the top-level ``templates/`` as
    ``pgx_report/templates``; an editable install (or a checkout) has it beside
    the package.
    """
    if explicit is not None:
        folder = Path(explicit)
        if not (folder / TEMPLATE_NAME).is_file():
            raise TemplateError(folder, f"not a report templates folder (no {TEMPLATE_NAME})")
        return folder.resolve()
    for folder in TEMPLATE_DIRS:
        if (folder / TEMPLATE_NAME).is_file():
            return folder
    raise TemplateError(TEMPLATE_DIRS[-1], "report templates not found (broken installation?)")


Stamp = tuple[int, int, int, int]


def _stamp(path: Path) -> Stamp:
    """``(inode, size, mtime_ns, ctime_ns)`` of a file, all -1 when it cannot be read.

    Part of the key of every per-process cache of a file's content (labels, parsed
    stylesheets, fonts), so a file that is edited or replaced is read again; ``ctime``
    changes on any write even when a tool puts the old modification time back."""
    try:
        info = path.stat()
    except OSError:
        return (-1, -1, -1, -1)
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _folder_stamp(folder: Path) -> tuple[tuple[str, Stamp], ...]:
    """The stamp of every file under ``folder``, by relative path, sorted."""
    stamps = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            stamps.append((str(path.relative_to(folder)), _stamp(path)))
    return tuple(sorted(stamps))


def load_labels(templates: Path) -> Mapping[str, Mapping[str, str]]:
    """Fixed labels of the page layout: ``labels[lang][key]`` (parsed once per process
    while the file is unchanged, see :func:`_stamp`)."""
    return _labels(templates, _stamp(templates / LABELS_FILE))


@functools.lru_cache(maxsize=8)
def _labels(templates: Path, stamp: Stamp) -> Mapping[str, Mapping[str, str]]:
    path = templates / LABELS_FILE
    try:
        raw = safe_load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(path, f"cannot read the report labels: {exc}") from None
    if not isinstance(raw, dict):
        raise TemplateError(path, "expected a mapping of label keys")
    labels: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for key, texts in raw.items():
        for lang in LANGUAGES:
            if not isinstance(texts, dict) or not isinstance(texts.get(lang), str):
                raise TemplateError(path, f"{key}: needs a text for each of {', '.join(LANGUAGES)}")
            labels[lang][str(key)] = texts[lang]
    return labels


@functools.lru_cache(maxsize=8)
def _environment(templates: Path) -> jinja2.Environment:
    # Jinja2's loader checks each template's modification time before it reuses the
    # compiled template (auto_reload), so an edited template is compiled again.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,  # explicit: select_autoescape() would skip *.html.j2
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Report:
    """What a render produced: the HTML text and, for PDFs, the bytes."""

    html: str
    pdf: bytes | None
    language: str


def parse_assessment(data: bytes, source: str | Path | None) -> Assessment:
    """The Assessment in ``data`` (strict JSON, the one version rule, the schema)."""
    return assessment_from_json(parse_json(data, source), source)


def read_assessment(path: str | Path) -> tuple[Assessment, bytes]:
    """The assessment at ``path`` and its exact bytes (embedded in the PDF)."""
    data = read_input_bytes(path)
    return parse_assessment(data, path), data


# --------------------------------------------------------------------------- rendering


def _render_template(view: Mapping[str, Any], templates: Path, *, standalone: bool) -> str:
    inline_css = Markup("")
    if standalone:  # the .html file carries its layout CSS; the PDF gets it from _engine
        inline_css = Markup(
            (templates / STYLESHEET).read_text(encoding="utf-8") + HTML_FONT_FALLBACK
        )
    try:
        template = _environment(templates).get_template(TEMPLATE_NAME)
        return template.render(view=view, inline_css=inline_css)
    except jinja2.TemplateError as exc:
        raise TemplateError(templates / TEMPLATE_NAME, f"template error: {exc}") from None


def render_html(
    assessment: Assessment | Mapping[str, Any],
    lang: str,
    templates: Path,
    *,
    source: str | Path | None = None,
    lab: LabProfile | None = None,
    report: ReportInfo | None = None,
) -> Report:
    """The report as a standalone HTML page (no PDF)."""
    view = build_view(
        assessment, lang, load_labels(templates), source=source, lab=lab, report=report
    )
    return Report(html=_render_template(view, templates, standalone=True), pdf=None, language=lang)


def _asset_fetcher_class() -> type:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):  # type: ignore[misc]
        """Serves only files inside ``root`` (the templates folder); stops the render
        with :class:`FatalURLFetchingError` for any other URL."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=True)
            self.root = root.resolve()
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(url2pathname(unquote(parts.path))).resolve()
                if path.is_file() and path.is_relative_to(self.root):
                    return URLFetcherResponse(url, path.read_bytes(), status=200)
            self.refused.append(url)
            raise FatalURLFetchingError(f"refused to fetch {url[:200]!r}: not a report asset")

    return AssetFetcher


@dataclass
class _Engine:
    """Per-templates-folder WeasyPrint state reused between renders in one process
    (parsed stylesheets and the font configuration that loaded the bundled fonts)."""

    fetcher: Any
    font_config: FontConfiguration
    stylesheets: list[Any]


@functools.lru_cache(maxsize=4)
def asset_fetcher(templates: Path) -> Any:
    """The URL fetcher that serves only files inside ``templates`` (one per folder and
    process); every other URL stops the render with ``FatalURLFetchingError``."""
    import_weasyprint()
    return _asset_fetcher_class()(templates)


def stylesheet(path: Path, fetcher: Any, font_config: FontConfiguration | None = None) -> Any:
    """The parsed stylesheet at ``path`` (its ``@font-face`` fonts loaded into
    ``font_config`` when one is given); its URLs go through ``fetcher``."""
    import_weasyprint()
    from weasyprint import CSS

    return CSS(filename=str(path), url_fetcher=fetcher, font_config=font_config)


def attachment(
    data: bytes, fetcher: Any, *, name: str, description: str, moment: dt.datetime
) -> Any:
    """``data`` as a PDF/A-3 associated file (relationship ``Data``) named ``name``,
    created and modified at ``moment``."""
    import_weasyprint()
    from weasyprint import Attachment

    return Attachment(
        file_obj=io.BytesIO(data),
        url_fetcher=fetcher,
        name=name,
        description=description,
        created=moment,
        modified=moment,
        relationship="Data",
    )


def _engine(templates: Path, cjk: bool = False) -> _Engine:
    """The engine whose fonts are the DejaVu faces, plus the CJK font if ``cjk``.

    Built once per process and reused while no file in the templates folder changes
    (every file's stamp is part of the key, see :func:`_stamp`): a changed stylesheet
    or font gives a new engine, never a stale one."""
    return _engine_for(templates, cjk, _folder_stamp(templates))


@functools.lru_cache(maxsize=8)
def _engine_for(templates: Path, cjk: bool, stamp: tuple[tuple[str, Stamp], ...]) -> _Engine:
    import_weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    fetcher = asset_fetcher(templates)
    font_config = FontConfiguration()
    names = (FONTS_STYLESHEET, *((CJK_FONTS_STYLESHEET,) if cjk else ()), STYLESHEET)
    stylesheets = [stylesheet(templates / name, fetcher, font_config) for name in names]
    return _Engine(fetcher, font_config, stylesheets)


# Drop the cached engines while the interpreter is still whole: WeasyPrint's
# FontConfiguration.__del__ needs modules that are gone during interpreter teardown
# (it then prints "Exception ignored in ... __del__" on stderr at exit).
atexit.register(_engine_for.cache_clear)


def _font_coverage(font: Path) -> frozenset[int]:
    """The code points ``font`` has a glyph for (read once per file version)."""
    return _font_coverage_of(font, _stamp(font))


@functools.lru_cache(maxsize=8)
def _font_coverage_of(font: Path, stamp: Stamp) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    return frozenset(TTFont(font, lazy=True).getBestCmap())


def _drawn_chars(*values: Any) -> set[str]:
    """The characters a font must draw: every string in ``values`` (nested mappings and
    sequences included), without white space and control/format characters."""
    chars: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            chars.update(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(values)
    return {c for c in chars if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf")}


def _bundled_fonts(templates: Path) -> list[Path]:
    return sorted((templates / "fonts").glob("*.ttf"))  # DejaVu first, CJK last


def _uncovered(chars: set[str], fonts: Sequence[Path]) -> set[str]:
    """The characters none of ``fonts`` has a glyph for."""
    todo = set(chars)
    for font in fonts:
        if not todo:
            break
        covered = _font_coverage(font)
        todo = {c for c in todo if ord(c) not in covered}
    return todo


def missing_glyphs(view: Any, templates: Path) -> list[str]:
    """Characters of the report that no bundled font can draw (Pango would take them
    from a system font, or print a box). Empty for every language the fonts cover."""
    return sorted(_uncovered(_drawn_chars(view), _bundled_fonts(templates)))


def needs_cjk_font(chars: set[str], templates: Path) -> bool:
    """Whether the CJK font can be asked for a glyph: some character is missing from one
    of the other faces (regular or bold) and the CJK font has it. Otherwise Pango never
    reaches it in the font list ("PGX Sans", "PGX CJK"), so leaving it out changes nothing
    in the PDF and saves loading the 3.4 MB font."""
    others = [font for font in _bundled_fonts(templates) if font.name != CJK_FONT]
    lacking = set().union(*(_uncovered(chars, [font]) for font in others))
    cjk = templates / "fonts" / CJK_FONT
    return bool(lacking) and cjk.is_file() and len(_uncovered(lacking, [cjk])) < len(lacking)


@contextlib.contextmanager
def source_date_epoch(moment: dt.datetime | None) -> Iterator[None]:
    """SOURCE_DATE_EPOCH (read by fontTools when it stamps subset fonts, and by WeasyPrint
    for the PDF's dates) set to ``moment`` while the block runs; with ``None``, left as it
    is, or 0 (1970-01-01, never the clock) while it is unset."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    if moment is None and previous is not None:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = "0" if moment is None else str(int(moment.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def write_pdf(
    html: str,
    fetcher: Any,
    *,
    base_url: str | None = None,
    stylesheets: Sequence[Any] | None = None,
    font_config: FontConfiguration | None = None,
    attachments: Sequence[Any] | None = None,
    pdf_variant: str | None = None,
) -> bytes:
    """The PDF of ``html``: the one WeasyPrint call (the report, the batch summary and
    the validation report).

    Every URL goes through ``fetcher``; ``None`` options are WeasyPrint's defaults."""
    import_weasyprint()
    repair_html_parser_cache()
    from weasyprint import HTML

    with cyclic_gc_paused():
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(
            finisher=compress_streams_once,
            stylesheets=None if stylesheets is None else list(stylesheets),
            font_config=font_config,
            attachments=None if attachments is None else list(attachments),
            pdf_variant=pdf_variant,
            # Tagged PDF (structure tree, /MarkInfo /Marked true): screen readers read
            # the report in order; WeasyPrint keeps the PDF/A-3b identification with it.
            pdf_tags=True,
            uncompressed_pdf=False,
        )
    return pdf


def _data_only_fetcher(what: str) -> Any:
    """A URL fetcher that serves ``data:`` URLs only (a self-contained page)."""
    import_weasyprint()
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class DataOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise FatalURLFetchingError(f"{what} may not load {url}")

    return DataOnly()


def render_summary_pdf(html: str) -> bytes:
    """The batch summary's PDF from its self-contained HTML; nothing is fetched (no file,
    no network). Without SOURCE_DATE_EPOCH the PDF is dated 1970-01-01 (no clock date)."""
    with source_date_epoch(None):
        return write_pdf(html, _data_only_fetcher("batch summary"))


def render_pdf(
    assessment: Assessment | Mapping[str, Any],
    assessment_bytes: bytes,
    lang: str,
    templates: Path,
    *,
    source: str | Path | None = None,
    lab: LabProfile | None = None,
    report: ReportInfo | None = None,
    request: Request | None = None,
) -> Report:
    """The report as PDF/A-3b bytes, with ``assessment_bytes`` (the assessment JSON) and
    the report's identity and status (``report.json``; without ``report``, preliminary
    version 1 of ``request``) embedded as associated files (relationship ``Data``).
    ``lab`` is the laboratory's profile: printed, and recorded (name, SHA-256) in
    ``report.json``; without it the page says the laboratory is not configured."""
    import_weasyprint()
    from weasyprint.urls import FatalURLFetchingError

    record = None if lab is None else lab.record()
    if report is None:
        typed = as_assessment(assessment, source)
        report = preliminary(typed, assessment_bytes, lang, record, request)
    elif report.lab != record:
        report = replace(report, lab=record)
    view = build_view(
        assessment, lang, load_labels(templates), source=source, lab=lab, report=report
    )
    page_html = _render_template(view, templates, standalone=False)
    chars = _drawn_chars(view, page_html)
    missing = sorted(_uncovered(chars, _bundled_fonts(templates)))
    if missing:
        log.warning(
            "%s: no bundled font has a glyph for %s; the PDF may show them in a system "
            "font or as boxes",
            source or "report",
            ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing),
        )
    engine = _engine(templates, needs_cjk_font(chars, templates))
    created: dt.datetime = view["created"]
    embedded = attachment(
        assessment_bytes,
        engine.fetcher,
        name=ATTACHMENT_NAME,
        description="pgx-report assessment (machine-readable copy of this report)",
        moment=created.replace(tzinfo=None),
    )
    identity = attachment(
        report.to_bytes(),
        engine.fetcher,
        name=REPORT_ATTACHMENT,
        description="pgx-report report identity and status (id, version, status, release)",
        moment=created.replace(tzinfo=None),
    )
    try:
        with source_date_epoch(created):
            pdf = write_pdf(
                page_html,
                engine.fetcher,
                base_url=templates.as_uri() + "/",
                stylesheets=engine.stylesheets,
                font_config=engine.font_config,
                attachments=[embedded, identity],
                pdf_variant=PDF_VARIANT,
            )
    except FatalURLFetchingError as exc:
        raise TemplateError(
            templates, f"the report asked for a forbidden resource: {exc}"
        ) from None
    return Report(html=_render_template(view, templates, standalone=True), pdf=pdf, language=lang)
