# Genotype calls. A VCF used by one sheet row is called for that sample; a VCF shared by
# several rows (a joint-called cohort) is read ONCE by `pgx-report call --all-samples`,
# and each sample's call.json is copied from the cohort folder.


rule call_sample:
    input:
        vcf=sample_vcf,
    output:
        call="results/{sample}/call.json",
    params:
        pgx=PGX,
        sample=sample_option,
        options=call_options(),
    log:
        "logs/{sample}/call.log",
    benchmark:
        "benchmarks/results/call/{sample}.tsv"
    wildcard_constraints:
        sample=SINGLE_SAMPLE_REGEX,
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    group:
        "sample"
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "{params.pgx} call {input.vcf:q} {params.sample} {params.options}"
        " -o {output.call:q} 2> {log:q}"


rule call_cohort:
    input:
        vcf=cohort_vcf,
    output:
        calls=directory(f"{COHORT_DIR}/{{cohort}}"),
    params:
        pgx=PGX,
        options=call_options(),
    log:
        f"{COHORT_LOG_DIR}/{{cohort}}.log",
    benchmark:
        "benchmarks/results/call_cohort/{cohort}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "{params.pgx} call {input.vcf:q} --all-samples {params.options}"
        " -o {output.calls:q} 2> {log:q}"


rule cohort_sample_call:
    input:
        calls=cohort_dir_of_sample,
    output:
        call="results/{sample}/call.json",
    params:
        src=cohort_call_of_sample,
    log:
        "logs/{sample}/call.log",
    wildcard_constraints:
        sample=COHORT_SAMPLE_REGEX,
    localrule: True
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "cp {params.src:q} {output.call:q} 2> {log:q}"
