"""Report rendering speed: in-process warm render per report, and whole processes.

Prints one table:
- ``render (in-process, warm)``: median time of ``rendering.render_pdf`` per demo
  patient and language once the fonts and stylesheets are loaded (target <= 0.25 s);
- ``render --assess (in-process, warm)``: the whole ``render --assess`` command (read the
  call and questionnaire, assess, write assessment.json, PDF and HTML) run patient after
  patient in one process, as ``pgx-report batch`` runs it (target <= 0.2 s per report);
- ``pgx-report run`` (call + assess + render, a fresh process each time),
  ``pgx-report render``, ``render --assess`` (the workflow's report job) and
  ``pgx-report call`` as whole processes;
- the peer in the same run: ``bcftools query`` reading the same site from the same
  VCF (the floor for any process that opens the file).

Usage: ``python benchmarks/bench_render.py [--repeat N]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"
TARGET_SECONDS = 0.25
TARGET_ASSESS_SECONDS = 0.2  # render --assess, warm, in one process (pgx-report batch)
# demo patient -> (genotype input, sample)
DEMO_PATIENTS = {
    "demo-carrier": ("NA18564.OPRM1.g.vcf.gz", "NA18564"),
    "demo-aa": ("NA12878.OPRM1.g.vcf.gz", "NA12878"),
    "demo-opioid": ("NA18945.OPRM1.g.vcf.gz", "NA18945"),
    "demo-nd": ("DEMO-ND.vcf.gz", "DEMO-ND"),
    "demo-sparse": ("cohort.b37.vcf.gz", "COH-002"),
    "demo-cohort": ("cohort.b37.vcf.gz", "COH-001"),
}


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def run(cmd: Sequence[str | Path]) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def assessments(folder: Path) -> dict[str, Path]:
    """Real assessments of the demo patients (call + assess in this process); each
    patient's call is written beside it as ``<name>.call.json``."""
    from pgx_report.clinical.assessment import assess
    from pgx_report.clinical.knowledge import load_knowledge_base
    from pgx_report.clinical.questionnaire import load_questionnaire
    from pgx_report.files.io import write_json
    from pgx_report.genotype.vcf.rules import call_file

    kb = load_knowledge_base()
    paths = {}
    for name, (vcf, sample) in DEMO_PATIENTS.items():
        call = call_file(DEMO / "vcfs" / vcf, sample=sample)
        write_json(folder / f"{name}.call.json", call.to_dict())
        q = load_questionnaire(DEMO / "questionnaires" / f"{name}.json")
        paths[name] = folder / f"{name}.assessment.json"
        write_json(paths[name], assess(call, q, kb, environ={}).to_dict())
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per row")
    args = parser.parse_args(argv)
    from pgx_report.outputs.report import pdf as rendering

    rows: list[tuple[str, str, list[float]]] = []
    templates = rendering.find_templates()
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        folder = Path(tmp)
        paths = assessments(folder)
        cold_start = time.perf_counter()
        first, data = rendering.read_assessment(paths["demo-carrier"])
        rendering.render_pdf(first, data, "nb", templates)
        cold = time.perf_counter() - cold_start
        rows.append(("render, first in process (fonts load)", "demo-carrier nb", [cold]))
        warm: list[float] = []
        for name, path in paths.items():
            assessment, data = rendering.read_assessment(path)
            for lang in ("nb", "en"):
                times = timed(
                    lambda a=assessment, d=data, lg=lang: rendering.render_pdf(a, d, lg, templates),
                    args.repeat,
                )
                warm.append(statistics.median(times))
                rows.append(("render (in-process, warm)", f"{name} {lang}", times))
        warm_assess = render_assess_in_process(folder, args.repeat, rows)
        python = sys.executable
        vcf = DEMO / "vcfs" / "NA18564.OPRM1.g.vcf.gz"
        questionnaire = DEMO / "questionnaires" / "demo-carrier.json"
        out = folder / "run"
        pgx = [python, "-m", "pgx_report"]
        carrier = paths["demo-carrier"]
        # in this order: render --assess reads the call that `run` wrote
        commands: list[tuple[str, list[str | Path]]] = [
            ("pgx-report run (process)", ["run", vcf, questionnaire, "-o", out]),
            ("pgx-report render (process)", ["render", carrier, "-o", folder / "r.pdf"]),
            (
                "pgx-report render --assess (process)",  # the workflow's report step
                [
                    "render", folder / "a.json", "-o", folder / "ra.pdf",
                    "--html", folder / "ra.html",
                    "--assess", out / "call.json", questionnaire,
                ],
            ),
            ("pgx-report call (process)", ["call", vcf, "-o", folder / "c.json"]),
        ]  # fmt: skip
        for what, command in commands:
            times = timed(lambda command=command: run([*pgx, *command]), args.repeat)
            rows.append((what, "demo-carrier", times))
        bcftools = shutil.which("bcftools")
        if bcftools:
            site = json.loads((out / "call.json").read_text(encoding="utf-8"))["variant"]
            region = f"{site['chrom']}:{site['pos']}-{site['pos']}"
            rows.append(
                (
                    "peer: bcftools query (process)",
                    "demo-carrier",
                    timed(
                        lambda: run([bcftools, "query", "-r", region, "-f", "[%GT]\\n", vcf]),
                        args.repeat,
                    ),
                )
            )
        else:
            print("bcftools not found: peer row skipped (scripts/install-system-deps.sh)")

    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'case':<18} {'median s':>9} {'min s':>7} {'n':>3}")
    for what, case, times in rows:
        print(
            f"{what:<{width}}  {case:<18} {statistics.median(times):9.3f} "
            f"{min(times):7.3f} {len(times):3d}"
        )
    worst = max(warm)
    verdict = "meets" if worst <= TARGET_SECONDS else "MISSES"
    print(
        f"warm render per report: median {statistics.median(warm):.3f} s, worst case "
        f"{worst:.3f} s: {verdict} the {TARGET_SECONDS} s target"
    )
    median = statistics.median(warm_assess)
    verdict = "meets" if median <= TARGET_ASSESS_SECONDS else "MISSES"
    print(
        f"warm render --assess per report (one process, as batch): median {median:.3f} s, "
        f"worst patient {max(warm_assess):.3f} s: {verdict} the {TARGET_ASSESS_SECONDS} s target"
    )
    return 0


def render_assess_in_process(
    folder: Path, repeat: int, rows: list[tuple[str, str, list[float]]]
) -> list[float]:
    """``render --assess`` (assess + PDF + HTML, files written) patient after patient in
    this process, after one round that loads fonts and caches; the median per patient.
    The parser is built once, as ``pgx-report batch`` does."""
    from pgx_report.cli import build_parser

    parser = build_parser()

    def main(argv: list[str]) -> int:
        args = parser.parse_args(argv)
        return int(args.execute(args))

    def argv(name: str) -> list[str]:
        out = folder / "batch" / name
        return [
            "render", str(out / "assessment.json"), "-o", str(out / "report.pdf"),
            "--html", str(out / "report.html"), "--assess", str(folder / f"{name}.call.json"),
            str(DEMO / "questionnaires" / f"{name}.json"),
        ]  # fmt: skip

    for name in DEMO_PATIENTS:  # warm-up round
        main(argv(name))
    times: dict[str, list[float]] = {name: [] for name in DEMO_PATIENTS}
    for _ in range(repeat):
        for name in DEMO_PATIENTS:
            start = time.perf_counter()
            status = main(argv(name))
            times[name].append(time.perf_counter() - start)
            assert status == 0, name
    for name, values in times.items():
        rows.append(("render --assess (in-process, warm)", name, values))
    return [statistics.median(values) for values in times.values()]


if __name__ == "__main__":
    sys.exit(main())
