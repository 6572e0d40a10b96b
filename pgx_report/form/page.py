"""The form as one self-contained HTML page: Jinja2 template, inline CSS and script.

The page loads nothing: its Content-Security-Policy allows only the one inline style
and the one inline script, by their SHA-256 digests, and forbids every fetch, image,
font, frame and form submission. Same schema, labels and templates -> same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from pgx_report import __version__
from pgx_report.clinical.questionnaire import FHIR_DEFINITION_URL, questionnaire_schema
from pgx_report.contracts.text import refused_names
from pgx_report.errors import PgxError
from pgx_report.form.model import Form, build_form
from pgx_report.paths import TEMPLATE_DIRS

TEMPLATE_NAME = "form.html.j2"
LABELS_NAME = "form_i18n.yaml"
STYLE_NAME = "form.css"
SCRIPT_NAME = "form.js"


class FormTemplateError(PgxError):
    """The form's templates or labels are missing or broken."""


def find_form_templates() -> Path:
    """The folder with the form's template, labels, CSS and script."""
    for folder in TEMPLATE_DIRS:
        if (folder / TEMPLATE_NAME).is_file():
            return folder
    raise FormTemplateError(TEMPLATE_DIRS[-1], "form templates not found (broken installation?)")


def load_form_labels(folder: Path) -> Mapping[str, Any]:
    path = folder / LABELS_NAME
    try:
        labels = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormTemplateError(path, f"cannot read the form labels: {exc}") from None
    if not isinstance(labels, dict):
        raise FormTemplateError(path, "expected a mapping (ui, sections, fields, options)")
    return labels


def csp_source(text: str) -> str:
    """The CSP hash source of an inline ``<script>`` or ``<style>`` body."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    return (
        f"default-src 'none'; script-src {csp_source(script)}; style-src {csp_source(style)}; "
        "img-src 'none'; font-src 'none'; connect-src 'none'; media-src 'none'; "
        "object-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; "
        "form-action 'none'; base-uri 'none'"
    )


def page_data(form: Form) -> dict[str, Any]:
    """What the page's script reads: the rules of every field, in schema order."""
    return {
        "lang": form.lang,
        "fields": [field.rules() for field in form.fields_in_schema_order],
        "requiredObjects": list(form.required_objects),
        "fhirQuestionnaire": FHIR_DEFINITION_URL,
        "ui": dict(form.ui),
        "refusedNames": refused_names(),
    }


def _script(form: Form, code: str) -> str:
    data = json.dumps(page_data(form), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # "<" never appears raw inside the script element, so no "</script>" can end it early.
    data = data.replace("<", "\\u003c")
    return f"const PGX_FORM = {data};\n{code}"


def render_form(lang: str, folder: Path | None = None) -> str:
    """The whole HTML page of the form in ``lang`` ("en" or "nb")."""
    folder = folder or find_form_templates()
    form = build_form(questionnaire_schema(), load_form_labels(folder), lang)
    try:
        code = (folder / SCRIPT_NAME).read_text(encoding="utf-8")
        style = (folder / STYLE_NAME).read_text(encoding="utf-8")
    except OSError as exc:
        raise FormTemplateError(folder, f"cannot read the form's script or style: {exc}") from None
    script = _script(form, code)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE_NAME).render(
        form=form,
        ui=form.ui,
        csp=content_security_policy(script, style),
        script=script,
        style=style,
        version=__version__,
    )
