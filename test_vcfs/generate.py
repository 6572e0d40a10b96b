"""Build the tiny test VCFs described in ``test_vcfs/cases.yaml``.

Each case becomes ``<case>.vcf`` and, when its ``formats`` allow, also
``<case>.vcf.gz`` (BGZF, no index), ``<case>.tbi.vcf.gz`` (+ ``.tbi``),
``<case>.csi.vcf.gz`` (+ ``.csi``), ``<case>.gzip.vcf.gz`` (plain gzip) and
``<case>.bcf`` (+ ``.csi``).

In ``records`` a line is ``POS REF ALT QUAL FILTER INFO FORMAT SAMPLE...`` (whitespace
separated; CHROM and ID are filled in). POS may be ``SITE``, ``SITE-3`` or ``SITE+2``:
the rs1799971 position of the case's build. INFO may use ``END=SITE+4``.

Usage: python test_vcfs/generate.py OUT_DIR   (tests do this in a temporary folder)
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases.yaml"
SITE = {"GRCh38": 154039662, "GRCh37": 154360797}
FORMATS = ("vcf", "vcf.gz", "tbi", "csi", "gzip", "bcf")

_META = """\
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Low quality">
##ALT=<ID=NON_REF,Description="Represents any possible alternative allele at this location">
##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the interval">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">
##INFO=<ID=IMP,Number=0,Type=Flag,Description="Imputed marker">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP observed within the GVCF block">
##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype likelihoods">
##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">
##FORMAT=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">
"""


def load_cases() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CASES.read_text("utf-8"))
    return data


def _position(token: str, site: int) -> str:
    def repl(match: re.Match[str]) -> str:
        sign, offset = match.group(1), int(match.group(2) or 0)
        return str(site + offset if sign != "-" else site - offset)

    return re.sub(r"SITE(?:([+-])(\d+))?", repl, token)


def vcf_text(case: dict[str, Any], headers: dict[str, Any]) -> str:
    header = headers[case.get("header", "grch38")]
    site = SITE[header.get("site", "GRCh38")]
    chrom = case.get("chrom", header.get("chrom", "chr6"))
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<{c}>" for c in header.get("contigs", [])]
    lines += header.get("extra", [])
    lines += case.get("header_extra", [])
    text = "\n".join(lines) + "\n" + ("" if case.get("bare_header") else _META)
    samples = case.get("samples", ["S1"])
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    text += "\t".join(columns + (["FORMAT", *samples] if samples else [])) + "\n"
    for record in case.get("records", []):
        fields = record.split()
        fields[0] = _position(fields[0], site)
        fields[5] = _position(fields[5], site)  # INFO, e.g. END=SITE+4
        row_chrom = chrom
        if fields[0].startswith("chrom="):  # "chrom=chr1:100 ..." puts a record elsewhere
            row_chrom, fields[0] = fields[0][len("chrom=") :].split(":")
        text += "\t".join([row_chrom, fields[0], ".", *fields[1:]]) + "\n"
    return text


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def build_case(
    name: str, case: dict[str, Any], headers: dict[str, Any], out: Path
) -> dict[str, Path]:
    """Write every format of one case into ``out``; return format -> path."""
    plain = out / f"{name}.vcf"
    plain.write_text(vcf_text(case, headers), "utf-8")
    made = {"vcf": plain}
    formats = case.get("formats", FORMATS)
    if "vcf.gz" in formats or "tbi" in formats or "csi" in formats:
        bgz = out / f"{name}.vcf.gz"
        with bgz.open("wb") as handle:
            subprocess.run(["bgzip", "-c", str(plain)], check=True, stdout=handle)
        made["vcf.gz"] = bgz
        for kind, extra in (("tbi", ()), ("csi", ("-C",))):
            if kind in formats:
                target = out / f"{name}.{kind}.vcf.gz"
                shutil.copyfile(bgz, target)
                _run("tabix", "-f", *extra, "-p", "vcf", str(target))
                made[kind] = target
    if "gzip" in formats:
        target = out / f"{name}.gzip.vcf.gz"
        target.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
        made["gzip"] = target
    if "bcf" in formats:
        target = out / f"{name}.bcf"
        _run("bcftools", "view", "--no-version", "-Ob", "-o", str(target), str(plain))
        _run("bcftools", "index", "-f", str(target))
        made["bcf"] = target
    return made


def build_all(out: Path) -> dict[str, dict[str, Path]]:
    """Every case (all its formats) and every error case (plain VCF unless it lists
    ``formats``) under ``out``."""
    data = load_cases()
    out.mkdir(parents=True, exist_ok=True)
    built = {
        name: build_case(name, case, data["headers"], out) for name, case in data["cases"].items()
    }
    for name, case in data["errors"].items():
        built[name] = build_case(name, {"formats": ["vcf"], **case}, data["headers"], out)
    return built


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    built = build_all(Path(sys.argv[1]))
    for name, files in built.items():
        print(name, " ".join(sorted(files)))
