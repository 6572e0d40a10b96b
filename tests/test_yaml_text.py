"""The YAML files read at run time refuse control and format characters in the strings
they hand on to print (issue 13; the rule of pgx_report/contracts/text.py): the assay
definitions (``--assays``), the workflow config, and the packaged site definition and
population table. Each refusal is one line naming the file (or config key) and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pgx_report.batch.plan import load_plan
from pgx_report.batch.sheet import ConfigError
from pgx_report.contracts.text import unprintable_in
from pgx_report.errors import InputError
from pgx_report.genotype.plate.assays import load_assays

ASSAYS = Path(__file__).parent / "data" / "plates" / "quantstudio7_assays.yaml"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"a": ["ok", 1, None, 2.5, True]}, None),
        ({"a": {"b": "x\u202ey"}}, ("$.a.b", "character 2 is U+202E RIGHT-TO-LEFT OVERRIDE")),
        ({"a": ["ok", "z\u200b"]}, ("$.a[1]", "character 2 is U+200B ZERO WIDTH SPACE")),
        ({"a": {"k\x00": 1}}, ("$.a", "key 'k\\x00': character 2 is U+0000")),
        ("line\nbreak", ("$", "character 5 is U+000A")),
    ],
)
def test_unprintable_in_names_the_place(data: Any, expected: tuple[str, str] | None) -> None:
    found = unprintable_in(data)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert found[0] == expected[0]
    assert found[1].startswith(expected[1]), found


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["assays"]["CYP19_2"]["alleles"].update({"Allele\u202e 3": "G"}), "$.assays."),
        (
            lambda d: d["assays"]["CYP19_2"].update(controls={"NA\u200b1": "A/G"}),
            "$.assays.CYP19_2.controls",
        ),
        (lambda d: d.update(ignore=["other\x07"]), "$.ignore[0]"),
    ],
)
def test_assay_file_refuses_unprintable_names(tmp_path: Path, edit: Any, where: str) -> None:
    data = yaml.safe_load(ASSAYS.read_text("utf-8"))
    edit(data)
    bad = tmp_path / "assays.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(InputError) as raised:
        load_assays(bad)
    message = str(raised.value)
    assert message.startswith(f"{bad}: {where}"), message
    assert "a control or format character" in message and "\n" not in message


def test_workflow_config_refuses_unprintable_values(tmp_path: Path) -> None:
    config = {
        "samples": "sheets/samples.tsv",
        "population": "global_1000g",
        "reference": None,
        "samples_per_job": 3,
        "call": {"min_depth": None, "min_gq": None},
        "summary": {"alpha": 0.001, "max_not_determined_fraction": 0.2},
        "pgx_report": "pgx-report\u202e",
    }
    with pytest.raises(ConfigError) as raised:
        load_plan(config)
    assert str(raised.value).startswith("config: pgx_report: character 11 is U+202E")


def test_packaged_yaml_files_are_printable() -> None:
    """The site definition and the population table as shipped (their loaders check the
    same rule on every run; here the files themselves)."""
    from pgx_report.paths import DATA_DIR

    for name in ("variant.yaml", "populations.yaml"):
        assert unprintable_in(yaml.safe_load((DATA_DIR / name).read_text("utf-8"))) is None


def test_site_definition_refuses_unprintable_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pgx_report.genotype import site

    original = (site.DATA_DIR / "variant.yaml").read_text("utf-8")
    broken = original.replace("gene: OPRM1", 'gene: "OPRM1\\u200b"')
    assert broken != original
    (tmp_path / "variant.yaml").write_text(broken, "utf-8")
    site.rs1799971.cache_clear()
    monkeypatch.setattr(site, "DATA_DIR", tmp_path)
    try:
        with pytest.raises(InputError) as raised:
            site.rs1799971()
        expected = f"{tmp_path / 'variant.yaml'}: $.gene: character 6 is U+200B"
        assert str(raised.value).startswith(expected)
    finally:
        monkeypatch.undo()
        site.rs1799971.cache_clear()
