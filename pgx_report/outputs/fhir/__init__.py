"""HL7 FHIR export: an assessment (plus the rendered PDF) as a FHIR R4 ``Bundle``.

The bundle follows the HL7 FHIR Genomics Reporting Implementation Guide 3.0.0 (STU3):

* ``DiagnosticReport`` (profile *genomic-report*) referencing every result, with the PDF
  as ``presentedForm`` when one is given;
* ``Observation`` *variant* for OPRM1 rs1799971: Present / Absent when a genotype was
  called, *No call* / *Indeterminate* with the call's reason codes when it was not;
* ``Observation`` *genotype* (only when a genotype was called: never invented);
* ``Observation`` *therapeutic-implication* for naltrexone carrying the overall category,
  the evidence level of the genotype, the confidence, the conclusion and the citations;
* one ``DetectedIssue`` per contraindication;
* ``Procedure`` *genomic-study* and *genomic-study-analysis*: the region studied, then
  called or uncalled (:mod:`pgx_report.outputs.fhir.study`);
* ``Patient``, ``Specimen``, ``Device`` (tool and knowledge-base versions) and
  ``Provenance`` (the SHA-256 of every input).

Pure: a typed :class:`~pgx_report.contracts.assessment.Assessment` in, a bundle dict out
(:func:`pgx_report.outputs.fhir.bundle.build_bundle`). Every code comes from
``pgx_report/data/fhir_codes.yaml``. Resource ids are UUIDv5 values derived from the
assessment's input SHA-256s, so the same inputs always give the same bundle; no clock
is read.
"""
