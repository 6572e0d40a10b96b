"""The report PDF is tagged (accessible) and still PDF/A-3b.

WeasyPrint's ``pdf_tags=True`` (pgx_report/outputs/report/pdf.py, the one write_pdf call)
writes a structure tree so a screen reader reads the report in order; the PDF/A
identification in the XMP metadata must stay (part 3, conformance B).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject
from test_render import CASES, render_case


@pytest.fixture(scope="module")
def reader() -> PdfReader:
    name = sorted(CASES)[0]
    _data, report = render_case(name, "en")
    return PdfReader(io.BytesIO(report.pdf))


def _resolve(node: Any) -> Any:
    return node.get_object() if isinstance(node, IndirectObject) else node


def _heading_order(node: Any, out: list[str]) -> None:
    """The structure types of the tree in document order (H1..H6 kept)."""
    node = _resolve(node)
    if isinstance(node, dict):
        kind = node.get("/S")
        if kind in ("/H1", "/H2", "/H3", "/H4", "/H5", "/H6"):
            out.append(str(kind))
        _heading_order(node.get("/K"), out)
    elif isinstance(node, list):
        for item in node:
            _heading_order(item, out)


def test_structure_tree_and_mark_info(reader: PdfReader) -> None:
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"]) is True


def test_pdfa_3b_identification_is_kept(reader: PdfReader) -> None:
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert "pdfaid:part" in xmp
    assert ">3<" in xmp.split("pdfaid:part", 1)[1][:20] or 'part="3"' in xmp
    tail = xmp.split("pdfaid:conformance", 1)[1][:20]
    assert "B" in tail


def test_headings_are_in_reading_order(reader: PdfReader) -> None:
    headings: list[str] = []
    _heading_order(reader.trailer["/Root"]["/StructTreeRoot"], headings)
    assert headings, "no heading in the structure tree"
    assert headings[0] == "/H1"
