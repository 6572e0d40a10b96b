# The workflow's values, from pgx_report.batch.plan (sample sheet, chunks, cohorts, job
# arguments): checked in the package, so a bad sheet or config fails before any job.

from pgx_report.batch.plan import load_plan
from pgx_report.errors import PgxError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")
try:
    PLAN = load_plan(config)
except PgxError as err:  # one line naming the sheet and line, or the config key
    raise WorkflowError(str(err)) from None
SAMPLES = PLAN.samples
