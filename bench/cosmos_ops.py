"""Counting Cosmos DB operations by kind, at the server: @vercel/cosmosdb-server with a second request listener.

The runtime (devhost) is another process, so the count is taken where every request ends up. Node emits each
request to every 'request' listener; ours only classifies it (the emulator's own handler answers it):

    point read  GET    .../docs/{id}
    query       POST   .../docs  with x-ms-documentdb-isquery
    batch       POST   .../docs  with x-ms-cosmos-is-batch-request (its operations are counted too)
    write       POST   .../docs  (create, upsert), PUT/PATCH/DELETE .../docs/{id}
    metadata    anything else (account, databases, containers, partition key ranges: not charged per item)

``GET /counts`` on the counter's own port answers the totals, ``POST /reset`` zeroes them.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hpcburst.emulators import REPO_ROOT, CosmosServer, free_port, wait_for_port

KINDS = ("point read", "query", "write", "batch")
# Published request-unit costs (Azure Cosmos DB docs, "Request units"): a point read of a 1 KB item is 1 RU;
# a write of a 1 KB item about 5.5 RU with default indexing (we index every path, so take 7); a simple
# single-partition query about 2.5-3 RU. A transactional batch costs the sum of its operations.
RU = {"point read": 1.0, "query": 3.0, "write": 7.0}

_SERVER = """
const {createHttpsServer} = require('@vercel/cosmosdb-server');
const http = require('http');
const zero = () => ({'point read': 0, query: 0, write: 0, batch: 0, 'batch ops': 0, metadata: 0, by: {}});
let counts = zero();
const count = (kind, url, n = 1) => {
  counts[kind] += n;
  const coll = (url.match(/\\/colls\\/([^/]+)/) || [])[1] || '-';
  counts.by[kind + ' ' + coll] = (counts.by[kind + ' ' + coll] || 0) + n;
};
const server = createHttpsServer({keepAlive: true});
server.on('request', (req) => {
  const url = req.url.split('?')[0].replace(/\\/+$/, '');  // the SDK ends paths with '/'
  const h = req.headers;
  if (/\\/docs\\/[^/]+$/.test(url)) { count(req.method === 'GET' ? 'point read' : 'write', url); return; }
  if (!(/\\/docs$/.test(url) && req.method === 'POST')) { counts.metadata += 1; return; }
  if (String(h['x-ms-documentdb-isquery']).toLowerCase() === 'true') { count('query', url); return; }
  if (String(h['x-ms-cosmos-is-batch-request']).toLowerCase() === 'true') {
    count('batch', url);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { try { counts['batch ops'] += JSON.parse(Buffer.concat(chunks)).length; } catch (e) {} });
    return;
  }
  count('write', url);
});
server.listen(COSMOS_PORT, '127.0.0.1');
http.createServer((req, res) => {
  if (req.method === 'POST') counts = zero();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(counts));
}).listen(COUNTER_PORT, '127.0.0.1');
"""


@dataclass
class CountingCosmos:
    server: CosmosServer
    counter_port: int

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.counter_port}/counts", timeout=10) as answer:
            return dict(json.loads(answer.read()))

    def reset(self) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.counter_port}/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        self.server.stop()


def start_counting_cosmos(log_dir: Path) -> CountingCosmos:
    port, counter = free_port(), free_port()
    script = _SERVER.replace("COSMOS_PORT", str(port)).replace("COUNTER_PORT", str(counter))
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "cosmos.log", "ab") as log:
        proc = subprocess.Popen(["node", "-e", script], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=REPO_ROOT)  # fmt: skip
    server = CosmosServer(proc, {"cosmos": port})
    try:
        wait_for_port(port, proc)
        wait_for_port(counter, proc)
    except BaseException:
        server.stop()
        raise
    return CountingCosmos(server, counter)


def request_units(counts: dict[str, int]) -> float:
    """Estimated RUs: each operation at its published cost; a batch as the writes it carries."""
    return (counts["point read"] * RU["point read"] + counts["query"] * RU["query"]
            + (counts["write"] + counts["batch ops"]) * RU["write"])  # fmt: skip


def per_index(counts: dict[str, int], indexes: int) -> str:
    ops = sum(counts[k] for k in KINDS)
    kinds = ", ".join(f"{k} {counts[k] / indexes:.3f}" for k in KINDS)
    return (f"{ops / indexes:.3f} ops/index ({kinds}; {counts['batch ops'] / max(counts['batch'], 1):.0f} "
            f"ops/batch), ~{request_units(counts) / indexes:.1f} RU/index")  # fmt: skip
