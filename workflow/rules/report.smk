# Per sample, ONE job runs assess and then render (two short CLI calls): half the jobs
# of one rule per step, and render's WeasyPrint import stays out of the call jobs.


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
        "({params.pgx} assess --call {input.call:q} --questionnaire {input.questionnaire:q}"
        " -o {output.assessment:q}"
        " && {params.pgx} render {output.assessment:q} -o {output.pdf:q}"
        " --html {output.html:q} {params.lang}) 2> {log:q}"
