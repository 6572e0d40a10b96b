"""The report PDF is tagged (accessible) and still PDF/A-3b.

WeasyPrint's ``pdf_tags=True`` (pgx_report/outputs/report/pdf.py, the one write_pdf call)
writes a structure tree so a screen reader reads the report in order; the PDF/A
identification in the XMP metadata must stay (part 3, conformance B).
"""

from __future__ import annotations

import io
import re
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


def _headings(node: Any, out: list[tuple[str, Any]]) -> None:
    """(H1..H6, page object number) of the structure tree in its (reading) order."""
    node = _resolve(node)
    if isinstance(node, dict):
        kind = node.get("/S")
        if kind in ("/H1", "/H2", "/H3", "/H4", "/H5", "/H6"):
            page = node.get("/Pg")
            out.append((str(kind), page.idnum if page is not None else None))
        _headings(node.get("/K"), out)
    elif isinstance(node, list):
        for item in node:
            _headings(item, out)


def test_structure_tree_and_mark_info(reader: PdfReader) -> None:
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"]) is True


def test_pdfa_3b_identification_is_kept(reader: PdfReader) -> None:
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r'pdfaid:part(="3"|>3<)', xmp), xmp
    assert re.search(r'pdfaid:conformance(="B"|>B<)', xmp), xmp


def test_headings_are_in_reading_order(reader: PdfReader) -> None:
    """The tree reads page by page; page 1 opens with the title (H1), then its sections."""
    headings: list[tuple[str, Any]] = []
    _headings(reader.trailer["/Root"]["/StructTreeRoot"], headings)
    pages = [page.indirect_reference.idnum for page in reader.pages]
    order = [pages.index(page) for _, page in headings]
    assert order == sorted(order), "the structure tree jumps back to an earlier page"
    first = [kind for kind, page in headings if page == pages[0]]
    assert first[0] == "/H1"
    assert first.count("/H1") == 1
    assert first.count("/H2") >= 2, first
