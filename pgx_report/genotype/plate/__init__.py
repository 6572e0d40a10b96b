"""Targeted genotyping assay plates (TaqMan-type qPCR exports): parser, assay map, QC."""

DEFAULT_MIN_QUALITY = 95.0  # pgx-report's default gate on Quality(%) (docs/targeted.md)
