"""Cold import time of the ingress path, against boto3 alone, in fresh processes (median of N).

    python -m benchmarks.cold_import [--runs 10]

Webhook senders time out after 3-10 s and a Lambda cold start pays every import, so the ingress path
(``shared.entry`` -> ``shared.ingress`` + an integration's spec) must stay close to the floor that
any handler pays anyway: boto3 (to reach SQS) and the Python interpreter. Printed as a ratio against
that baseline, measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

_PROBE = """
import time, sys
t = time.perf_counter()
{imports}
elapsed = time.perf_counter() - t
print(elapsed * 1000)
print(",".join(m for m in ("httpx", "shared.http", "shared.worker", "aws_lambda_powertools.utilities.idempotency") if m in sys.modules))
"""

INGRESS = "import shared.entry, shared.ingress\nfrom shared.registry import load_specs\nload_specs()"
BASELINE = "import boto3, json, hmac, hashlib"


def measure(imports: str, runs: int) -> tuple[float, str]:
    times, leaked = [], ""
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(imports=imports)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        times.append(float(out[0]))
        leaked = out[1] if len(out) > 1 else ""
    return statistics.median(times), leaked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    ingress, leaked = measure(INGRESS, args.runs)
    baseline, _ = measure(BASELINE, args.runs)
    print(f"ingress path cold import  {ingress:8.1f} ms  (median of {args.runs})")
    print(f"baseline (boto3 + stdlib) {baseline:8.1f} ms")
    print(f"ratio                     {ingress / baseline:8.2f}")
    print(f"worker-only modules imported on the ingress path: {leaked or 'none'}")
    print(
        json.dumps(
            {
                "ingress_import_ms": round(ingress, 1),
                "baseline_import_ms": round(baseline, 1),
                "ratio": round(ingress / baseline, 2),
                "leaked": leaked,
            }
        )
    )


if __name__ == "__main__":
    main()
