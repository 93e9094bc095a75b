"""``POST /api/agent/soa`` in steps: carry responses and host states back, bring requests and stops in.

Two steps, each run in a loop of its own (``nodeagent.service``):

- ``long_poll_step``: while the node runs hosts, one call waits up to ``wait`` seconds for requests;
- ``flush_step``: as soon as there is news (responses, a host ready or ended) one call carries it at once,
  so a response never waits for the long-poll to return. Its answer may bring requests too.

Responses leave ``Outbox`` only with a call that was answered; a failed call gives its batch back.
"""

from __future__ import annotations

from collections.abc import Callable

from hpcburst.domain.soa.protocol import MAX_BATCH, SoaPoll, SoaPollAnswer
from nodeagent.api import AgentApi
from nodeagent.soa.hosts import HostManager

LONG_POLL = 20.0  # seconds a long-poll may wait for requests
TICK = 0.1  # seconds between timeout checks while nothing happens


class SoaLoop:
    def __init__(
        self, hosts: HostManager, api: Callable[[], AgentApi], node: str, pool: str, wait: float = LONG_POLL
    ) -> None:
        self.hosts, self._api, self.node, self.pool, self.wait = hosts, api, node, pool, wait

    def poll_once(self, wait: float) -> SoaPollAnswer:
        """One call: what the outbox holds goes out, what comes back is applied."""
        batch = self.hosts.outbox.take(MAX_BATCH)
        body = SoaPoll.model_construct(
            node=self.node, pool=self.pool, hosts=self.hosts.states(), responses=batch.responses,
            ended=batch.ended, wait=wait,
        )  # fmt: skip
        try:
            answer = self._api().soa(body)
        except BaseException:
            self.hosts.outbox.give_back(batch)
            raise
        self.apply(answer)
        return answer

    def apply(self, answer: SoaPollAnswer) -> None:
        self.hosts.cache.learn(answer.data_urls)
        if answer.requests:
            self.hosts.dispatch(answer.requests)
        if answer.stop:
            self.hosts.stop(answer.stop)

    def long_poll_step(self, wait: float | None = None) -> SoaPollAnswer | None:
        """Wait for requests for this node's hosts; None (no call) when it runs none."""
        if not self.hosts.count:
            return None
        return self.poll_once(self.wait if wait is None else wait)

    def flush_step(self, timeout: float = TICK) -> SoaPollAnswer | None:
        """Enforce timeouts, wait up to ``timeout`` for news and send it at once; None when there was none."""
        self.hosts.tick()
        if not self.hosts.outbox.wait(timeout):
            return None
        return self.poll_once(0.0)
