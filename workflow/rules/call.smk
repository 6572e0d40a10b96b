# Cohort calls. A VCF shared by several sheet rows (or any genotyping plate) (a joint-called cohort) is read ONCE by
# `pgx-report call --all-samples`, which writes one call.json per sample of the file into
# results/_cohorts/<cohort>/; the report jobs copy each row's call from there. Inputs used
# by one row only (VCF, BAM, CRAM) are called inside the report jobs (report.smk). The
# reference FASTA (sheet column or config key) is an input: changing it reruns the call.


rule call_cohort:
    input:
        vcf=PLAN.cohort_vcf,
        reference=PLAN.cohort_reference,
        assays=PLAN.cohort_assays,
    output:
        calls=directory("results/_cohorts/{cohort}"),
    params:
        pgx=PLAN.pgx,
        reference=PLAN.cohort_reference_option,
        options=PLAN.call_options(),
        plate=PLAN.cohort_plate_options,
    log:
        "logs/_cohorts/{cohort}.log",
    benchmark:
        "benchmarks/results/call_cohort/{cohort}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "{params.pgx} call {input.vcf:q} --all-samples {params.reference} {params.options}"
        " {params.plate}"
        " -o {output.calls:q} 2> {log:q}"
