"""Cold import time of each Lambda handler module, and proof that the API path stays light.

Run: .venv/bin/python bench/bench_import.py [--runs N]
Each measurement is a fresh interpreter (python -X importtime) loading functions/<name>/app.py
the way the Lambda runtime does; the figure is the median of N runs of the handler module's
cumulative import time as -X importtime reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pyarrow", "openpyxl", "fpdf", "xlwt")
SNIPPET = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[2].split(',')))))
"""


def measure(app: Path) -> tuple[float, list[str]]:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SNIPPET, str(app), ",".join(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=app.parent,
    )
    cumulative_us = 0
    for line in proc.stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == "app":
            cumulative_us = int(parts[1])
    if not cumulative_us:  # the module itself is exec'd, not imported: sum the top-level imports
        for line in proc.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and not parts[2].startswith("  ") and parts[1].strip().isdigit():
                cumulative_us += int(parts[1])
    return cumulative_us / 1000, json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'function':<10} {f'cold import, ms (median of {args.runs})':>32}   heavy modules loaded")
    bad = False
    for app in sorted(ROOT.glob("functions/*/app.py")):
        times, heavy = [], []
        for _ in range(args.runs):
            ms, heavy = measure(app)
            times.append(ms)
        name = app.parent.name
        bad |= bool(heavy) and name != "worker"
        print(f"{name:<10} {statistics.median(times):>32.1f}   {', '.join(heavy) or '-'}")
    if bad:
        print("FAIL: an API handler imports a heavy module")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
