"""The clinician's questionnaire form: one offline HTML file generated from the schema.

``build_form`` turns the questionnaire JSON Schema and the form labels into a typed
:class:`~pgx_report.form.model.Form`; ``render_form`` writes it as one self-contained
HTML page (inline CSS and script, a Content-Security-Policy that forbids every load).
"""

from pgx_report.form.model import Field, Form, Group, Helper, Option, Section, build_form
from pgx_report.form.page import render_form

__all__ = ["Field", "Form", "Group", "Helper", "Option", "Section", "build_form", "render_form"]
