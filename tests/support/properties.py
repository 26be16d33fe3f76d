"""Property tests: ``PROPERTY_EXAMPLES=2000 .venv/bin/pytest ...`` tries more examples than each test's default."""

from __future__ import annotations

import os

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "0"))  # 0: each test's own default
