# Batch QC summary, read by the lab before it releases the reports. It runs after every
# report on success; when a sample failed (--keep-going), the on-error hook writes it
# anyway from whatever exists plus the error lines in logs/.


rule batch_summary:
    input:
        sheet=str(PLAN.sheet),
        assessments=expand("results/{sample}/assessment.json", sample=SAMPLES),
        reports=expand("results/{sample}/report.pdf", sample=SAMPLES),
    output:
        tsv="results/batch_summary.tsv",
        html="results/batch_summary.html",
        pdf="results/batch_summary.pdf",
    params:
        pgx=PLAN.pgx,
        args=PLAN.summary_options(),
    log:
        "logs/batch_summary.log",
    benchmark:
        "benchmarks/results/batch_summary/batch_summary.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "{params.pgx} summarize {params.args} -o {output.tsv:q}"
        " --html {output.html:q} --pdf {output.pdf:q} 2> {log:q}"


onerror:
    PLAN.write_summary_after_failure()
