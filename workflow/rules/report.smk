# Per chunk of samples (config 'samples_per_job', sheet order), ONE job and ONE process
# (`pgx-report batch`) run each sample's steps: call (or copy the cohort call), assess +
# render, FHIR export. The job declares every file of its samples, so Snakemake tracks
# them one by one, and each step's messages land in logs/<sample>/<step>.log. A sample
# with bad input fails alone: the others' files are written and kept (keep-incomplete in
# profiles/default), the job fails, and the batch summary lists the sample. The rules are
# defined in a loop, one per chunk, named reports_0001, reports_0002, ...

for _chunk, _samples in PLAN.chunks.items():

    rule:
        name:
            f"reports_{_chunk}"
        input:
            PLAN.chunk_inputs(_samples),
        output:
            PLAN.chunk_outputs(_samples),
        params:
            pgx=PLAN.pgx,
            tasks=PLAN.chunk_tasks(_samples),
            options=PLAN.batch_options(),
        log:
            PLAN.chunk_logs(_samples),
            job=f"logs/_chunks/{_chunk}.log",
        benchmark:
            f"benchmarks/results/reports/{_chunk}.tsv"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10 + len(_samples) // 5,
        conda:
            "../envs/pgx-report.yaml"
        shell:
            "{params.pgx} batch {params.tasks} --results results --logs logs"
            " {params.options} 2> {log.job:q}"
