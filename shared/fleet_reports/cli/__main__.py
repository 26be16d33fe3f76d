"""``python -m fleet_reports.cli`` = ``fleet-reports``."""

import sys

from fleet_reports.cli import main

sys.exit(main())
