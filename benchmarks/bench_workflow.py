"""Workflow throughput: a synthetic batch of patients end to end (sample sheet -> call ->
assess + render -> batch summary) with Snakemake, ``--cores 2`` by default.

Inputs (one small bgzipped + indexed GRCh38 VCF and one questionnaire per patient, genotypes
drawn at the global 118G frequency) are generated once into ``benchmarks/.cache/`` (not in
git). Each run starts from empty results. Prints the wall time and reports per second, a
per-rule breakdown from Snakemake's ``benchmark:`` files, and the peer: bcftools reading the
site from the same VCFs with the same number of parallel processes.

    python benchmarks/bench_workflow.py [--patients 1000] [--cores 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "benchmarks" / ".cache"
SITE = 154039662
Q = 0.223  # global 1000 Genomes 118G frequency (pgx_report/data/populations.yaml)
GENERATOR_VERSION = "1"

VCF_HEADER = (
    "##fileformat=VCFv4.2\n"
    '##FILTER=<ID=PASS,Description="All filters passed">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
    "##contig=<ID=chr6,length=170805979,assembly=GRCh38>\n"
    "##reference=file:///ref/GRCh38_full_analysis_set_plus_decoy_hla.fa\n"
)


def patient_vcf(sample: str, genotype: str) -> str:
    ad = {"0/0": "31,0", "0/1": "15,16", "1/1": "0,31"}[genotype]
    records = [
        "chr6\t154039500\t.\tC\tT\t800\tPASS\t.\tGT:AD:DP:GQ\t0/1:15,16:31:99\n",
        f"chr6\t{SITE}\t.\tA\tG\t900\tPASS\t.\tGT:AD:DP:GQ\t{genotype}:{ad}:31:99\n",
    ]
    if genotype == "0/0":  # a variant-only VCF would not list a hom-ref site
        records[1] = (
            f"chr6\t{SITE}\t.\tA\t<NON_REF>\t.\tPASS\tEND={SITE}\tGT:AD:DP:GQ\t0/0:31,0:31:99\n"
        )
    header = VCF_HEADER + '##ALT=<ID=NON_REF,Description="Any other allele">\n'
    header += '##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">\n'
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + sample + "\n"
    return header + columns + "".join(records)


def generate(folder: Path, patients: int) -> Path:
    """Inputs and sample sheet for ``patients`` patients; reused when already there."""
    import pysam

    stamp = folder / "inputs.done"
    if stamp.is_file() and stamp.read_text() == f"{GENERATOR_VERSION} {patients}\n":
        return folder / "samples.tsv"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "vcfs").mkdir(parents=True)
    (folder / "questionnaires").mkdir()
    template = json.loads((REPO / "demo" / "questionnaires" / "demo-carrier.json").read_text())
    rng = random.Random(20251120)
    rows = ["sample\tvcf\tquestionnaire\tvcf_sample\tlang"]
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(patients):
            sample = f"BENCH{index:05d}"
            alleles = sum(rng.random() < Q for _ in range(2))
            plain = Path(tmp) / f"{sample}.vcf"
            plain.write_text(patient_vcf(sample, ("0/0", "0/1", "1/1")[alleles]), "utf-8")
            vcf = folder / "vcfs" / f"{sample}.vcf.gz"
            pysam.tabix_compress(str(plain), str(vcf), force=True)
            pysam.tabix_index(str(vcf), preset="vcf", force=True)
            questionnaire = json.loads(json.dumps(template))
            questionnaire["sample_id"] = sample
            questionnaire["patient"].update(id=f"P-{index:05d}", name=f"Patient {index:05d}")
            questionnaire["language"] = ("nb", "en")[index % 2]
            questionnaire["drinking"]["audit_score"] = rng.randint(8, 40)
            (folder / "questionnaires" / f"{sample}.json").write_text(
                json.dumps(questionnaire, indent=2), "utf-8"
            )
            rows.append(f"{sample}\tvcfs/{sample}.vcf.gz\tquestionnaires/{sample}.json\t{sample}\t")
    (folder / "samples.tsv").write_text("\n".join(rows) + "\n", "utf-8")
    stamp.write_text(f"{GENERATOR_VERSION} {patients}\n")
    return folder / "samples.tsv"


def run_workflow(folder: Path, cores: int) -> float:
    for name in ("results", "logs", "benchmarks", ".snakemake"):
        shutil.rmtree(folder / name, ignore_errors=True)
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(folder),
        "--cores", str(cores),
        "--config", "samples=samples.tsv",
        "--quiet", "all",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"workflow failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def rule_breakdown(folder: Path) -> list[tuple[str, int, float]]:
    """(rule, jobs, total seconds) from the benchmark: files of the run."""
    table = []
    for rule_dir in sorted((folder / "benchmarks" / "results").iterdir()):
        seconds = [
            float(next(csv.DictReader(path.open(), delimiter="\t"))["s"])
            for path in rule_dir.glob("*.tsv")
        ]
        table.append((rule_dir.name, len(seconds), sum(seconds)))
    return table


def bcftools_peer(folder: Path, workers: int) -> float:
    vcfs = sorted((folder / "vcfs").glob("*.vcf.gz"))

    def query(vcf: Path) -> str:
        cmd = ["bcftools", "query", "-r", f"chr6:{SITE}", "-f", "[%SAMPLE\t%GT\n]", str(vcf)]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        lines = list(pool.map(query, vcfs))
    elapsed = time.perf_counter() - start
    assert len(lines) == len(vcfs) and all(lines)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("bcftools") is None:
        sys.exit("bcftools not found: run scripts/install-system-deps.sh")
    folder = CACHE / f"workflow-{args.patients}"
    started = time.perf_counter()
    generate(folder, args.patients)
    print(f"inputs: {folder} ({time.perf_counter() - started:.1f} s to prepare)")

    wall = run_workflow(folder, args.cores)
    reports = len(list((folder / "results").glob("*/report.pdf")))
    summary = (folder / "results" / "batch_summary.tsv").read_text("utf-8")
    assert reports == args.patients, (reports, args.patients)
    assert f"## samples={args.patients}\n" in summary and f"## reported={reports}\n" in summary
    verdict = summary.split("## verdict=", 1)[1].split("\n", 1)[0]
    peer = bcftools_peer(folder, args.cores)

    print(f"\n{args.patients} patients, --cores {args.cores}")
    print(f"{'what':<44}{'wall s':>10}{'per patient s':>16}{'patients/s':>12}")
    print(
        f"{'pgx-report workflow (call+assess+render+summary)':<44}{wall:>10.1f}"
        f"{wall / args.patients:>16.3f}{args.patients / wall:>12.2f}"
    )
    print(
        f"{'peer: bcftools query of the site (' + str(args.cores) + ' procs)':<44}{peer:>10.1f}"
        f"{peer / args.patients:>16.3f}{args.patients / peer:>12.2f}"
    )
    print(f"\n{'rule':<22}{'jobs':>8}{'job seconds':>14}{'mean s/job':>12}")
    for rule, jobs, total in rule_breakdown(folder):
        print(f"{rule:<22}{jobs:>8}{total:>14.1f}{total / jobs:>12.3f}")
    print(f"\nbatch summary verdict: {verdict}")
    if args.patients == 1000:
        print(f"target: under 180 s for 1000 patients -> {'met' if wall < 180 else 'NOT met'}")


if __name__ == "__main__":
    main()
