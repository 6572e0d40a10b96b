# Genotype calls. An input used by one sheet row (VCF, BAM, CRAM) is called for that
# sample; a VCF shared by several rows (a joint-called cohort) is read ONCE by
# `pgx-report call --all-samples`, and each sample's call.json is copied from the cohort
# folder. BAM/CRAM rows are always called one by one (--sample picks the read group).
# The reference FASTA (sheet column or config key) is an input: changing it reruns the call.


rule call_sample:
    input:
        genotypes=sample_input,
        reference=sample_reference,
    output:
        call="results/{sample}/call.json",
    params:
        pgx=PGX,
        sample=sample_option,
        reference=reference_option,
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
        "{params.pgx} call {input.genotypes:q} {params.sample} {params.reference}"
        " {params.options}"
        " -o {output.call:q} 2> {log:q}"


rule call_cohort:
    input:
        vcf=cohort_vcf,
        reference=cohort_reference,
    output:
        calls=directory(f"{COHORT_DIR}/{{cohort}}"),
    params:
        pgx=PGX,
        reference=cohort_reference_option,
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
        "{params.pgx} call {input.vcf:q} --all-samples {params.reference} {params.options}"
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
