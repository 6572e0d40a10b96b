# Per sample: the HL7 FHIR Genomics Reporting bundle beside the PDF, with the PDF
# attached (docs/fhir.md). A short CLI call in the sample's job group.


rule fhir:
    input:
        assessment="results/{sample}/assessment.json",
        pdf="results/{sample}/report.pdf",
    output:
        "results/{sample}/report.fhir.json",
    params:
        pgx=PGX,
    log:
        "logs/{sample}/fhir.log",
    benchmark:
        "benchmarks/results/fhir/{sample}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    group:
        "sample"
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "{params.pgx} fhir {input.assessment:q} --pdf {input.pdf:q} -o {output:q} 2> {log:q}"
