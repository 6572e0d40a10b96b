"""Method verification (``pgx-report validate``): call reference samples of known genotype
with the production code and thresholds, and report accuracy and repeatability.

``truth`` reads the truth file, ``stats`` has the exact binomial interval, ``run`` calls
and compares, ``bundled`` builds the truth rows of the real samples shipped in the
package, ``render`` turns a result into validation.json / .html / .pdf, and ``pack`` is the
one call the command makes (docs/validation.md)."""
