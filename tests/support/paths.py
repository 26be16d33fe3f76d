"""The repository's folders that the tests read."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"  # the API Gateway, SQS and S3 sample events (`sam local invoke -e`)
FIXTURES = ROOT / "tests" / "fixtures"
