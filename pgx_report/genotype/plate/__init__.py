"""Targeted genotyping assay plates (TaqMan-type qPCR exports): parser, assay map, QC."""
