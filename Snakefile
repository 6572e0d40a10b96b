# pgx-report lab workflow: sample sheet -> per-sample call -> assess + render -> batch summary.
# Run from the repository (or any folder with --directory):
#   snakemake --cores 2                                  # the bundled demo patients
#   snakemake --cores 2 --config samples=my/samples.tsv  # another batch
#   snakemake --profile profiles/slurm                   # on a SLURM cluster
# See docs/workflow.md.

import os

from snakemake.utils import min_version

min_version("9.0")


# The workflow's own defaults; a lab's --configfile / --config on the command line win.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/call.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/summary.smk"


rule all:
    input:
        expand("results/{sample}/report.pdf", sample=SAMPLES),
        expand("results/{sample}/report.html", sample=SAMPLES),
        expand("results/{sample}/report.fhir.json", sample=SAMPLES),
        "results/batch_summary.tsv",
        "results/batch_summary.html",
        "results/batch_summary.pdf",
    default_target: True
