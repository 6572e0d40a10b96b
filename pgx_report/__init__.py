"""pgx-report: OPRM1 rs1799971 genotype calling and naltrexone decision-support reports."""

__version__ = "0.1.0"
