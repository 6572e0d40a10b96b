import sys

from pgx_report.cli import main

sys.exit(main())
