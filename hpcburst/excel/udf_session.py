"""UDF calls on the cluster: one SOA session for the whole recalculation, every round's calls through it.

Each distinct call is one request of the generic service's ``call`` operation; the session's executor sends
and receives them in batches (``batch_size`` requests per HTTP call), so a round of 100,000 calls is a few
hundred round trips, spread by the broker over every host the session gets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hpcburst.excel.udf import ERROR_CELL, Call, Outcome
from hpcburst.excel.udf_service import OPERATION


class SessionOffload:
    """An ``Offload`` (see ``udf_calc``) over a session of ``service``, importing UDF module ``module``."""

    def __init__(self, client: Any, service: str, module: str, batch_size: int = 256,
                 max_units: int | None = None, timeout: float | None = None) -> None:  # fmt: skip
        from hpcburst.soa import SessionStartInfo

        fields: dict[str, Any] = {"service": service}
        if max_units is not None:
            fields["max_units"] = max_units
        self.session = client.create_session(SessionStartInfo(**fields))
        try:
            self.executor = self.session.executor(batch_size=batch_size)
        except BaseException:  # a bad --batch: the session it was for closes now, not at its idle timeout
            self.session.close(purge=True)
            raise
        self.module = module
        self.timeout = timeout

    def __call__(self, calls: Sequence[Call]) -> list[tuple[Call, Outcome]]:
        from hpcburst.soa import SoaFault

        submit, module = self.executor.submit, self.module
        futures = [submit(OPERATION, module, name, args) for name, args in calls]
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        answered: list[tuple[Call, Outcome]] = []
        for call, future in zip(calls, futures, strict=True):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                value, reason = future.result(timeout=left)
            except SoaFault as fault:  # the host died or timed out on it: an error cell with the reason
                value, reason = ERROR_CELL, f"{fault.type}: {fault.fault_message}"
            except TimeoutError:
                raise TimeoutError(
                    f"UDF calls unanswered after --timeout {self.timeout} s "
                    f"({sum(not f.done() for f in futures)} of {len(futures)} this round): are nodes up?"
                ) from None
            answered.append((call, (value, reason)))
        return answered

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.session.close(purge=True)

    def __enter__(self) -> SessionOffload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
