"""Estimate pi on the cluster with 1,000 SOA requests (README, "SOA sessions").

Run after registering the `pi` service: ``python examples/soa/client.py [--durable]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from hpcburst import soa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--durable", action="store_true", help="a durable session (survives a disconnect)")
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    info = soa.SessionStartInfo(service="pi", durable=args.durable, min_units=1, max_units=64)
    began = time.perf_counter()
    with soa.connect() as client:
        session = client.create_session(info)
        with session.executor() as ex:
            futures = [ex.submit("estimate", 20_000, seed, user_data=seed) for seed in range(args.requests)]
            estimates = [f.result() for f in soa.as_completed(futures)]
        session.close(purge=True)
    seconds = time.perf_counter() - began
    print(
        f"session {session.id}: pi ≈ {statistics.fmean(estimates):.5f} from {len(estimates)} requests "
        f"in {seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
