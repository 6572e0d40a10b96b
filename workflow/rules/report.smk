# Per sample, ONE job and ONE process assess and render (`render --assess`): the Python
# start and the imports are paid once per patient, and WeasyPrint stays out of the call jobs.


rule report:
    input:
        call="results/{sample}/call.json",
        questionnaire=sample_questionnaire,
    output:
        assessment="results/{sample}/assessment.json",
        pdf="results/{sample}/report.pdf",
        html="results/{sample}/report.html",
    params:
        pgx=PGX,
        lang=lang_option,
    log:
        "logs/{sample}/report.log",
    benchmark:
        "benchmarks/results/report/{sample}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    group:
        "sample"
    conda:
        "../envs/pgx-report.yaml"
    shell:
        "{params.pgx} render {output.assessment:q} -o {output.pdf:q} --html {output.html:q}"
        " --assess {input.call:q} {input.questionnaire:q} {params.lang} 2> {log:q}"
