"""What one durable session's stored journal docs hold, kept in memory so compaction decides with no reads.

Each ``q-`` doc counts its requests not yet done (answered or acknowledged), each ``r-`` doc its responses
not yet acknowledged; a doc whose count is zero is finished and compaction deletes it. A key counts in
the first doc that stored it only: a resent request or a second response for the same key is a duplicate
and never holds a doc back. Acknowledged keys stay (tombstones) for the session's life, so a request sent
again after its response was acknowledged is still a duplicate after a restart.

Not thread-safe by itself: the journal holds the session's lock around every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hpcburst.services.soa.journal_rows import ACKS, REQUESTS, RESPONSES, Key


@dataclass(eq=False)
class IndexedDoc:
    id: str
    kind: str
    keys: list[Key]
    open: int = 0  # q: requests not answered nor acknowledged; r: responses not acknowledged
    size: int = 0  # a: estimated bytes (to decide folding)


@dataclass
class SessionIndex:
    docs: dict[str, IndexedDoc] = field(default_factory=dict)
    request_doc: dict[Key, IndexedDoc] = field(default_factory=dict)  # key -> live q doc that counts it
    response_doc: dict[Key, IndexedDoc] = field(default_factory=dict)  # key -> live r doc that counts it
    acked: set[Key] = field(default_factory=set)
    next_seq: int = 1

    def take_seq(self) -> int:
        """The next doc's seq. Taken before the write: a failed write leaves a gap, never a reused id (a
        write that timed out may still have been stored)."""
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def requests_stored(self, id: str, keys: list[Key]) -> list[bool]:
        """Index a stored q doc; per key, whether it is pending (not a duplicate, not done)."""
        doc = IndexedDoc(id, REQUESTS, keys)
        request_doc, response_doc, acked = self.request_doc, self.response_doc, self.acked
        pending = []
        for key in keys:
            new = key not in request_doc and key not in response_doc and key not in acked
            if new:
                request_doc[key] = doc
            pending.append(new)
        doc.open = sum(pending)
        self.docs[id] = doc
        return pending

    def responses_stored(self, id: str, keys: list[Key]) -> list[bool]:
        """Index a stored r doc; per key, whether it is the key's response (first stored, not acknowledged)."""
        doc = IndexedDoc(id, RESPONSES, keys)
        request_doc, response_doc, acked = self.request_doc, self.response_doc, self.acked
        counted = []
        for key in keys:
            first = key not in response_doc and key not in acked
            if first:
                response_doc[key] = doc
                asked = request_doc.get(key)
                if asked is not None:
                    asked.open -= 1
            counted.append(first)
        doc.open = sum(counted)
        self.docs[id] = doc
        return counted

    def fresh_acks(self, keys: list[Key]) -> list[Key]:
        """The keys not acknowledged yet, each once, in order."""
        acked = self.acked
        return [k for k in dict.fromkeys(keys) if k not in acked]

    def acks_stored(self, id: str, keys: list[Key], size: int) -> None:
        """Index a stored a doc (its keys are fresh: see ``fresh_acks``; a folded doc's are already in)."""
        self.docs[id] = IndexedDoc(id, ACKS, keys, size=size)
        for key in keys:
            if key in self.acked:
                continue
            self.acked.add(key)
            answered = self.response_doc.get(key)
            if answered is not None:
                answered.open -= 1
            elif (asked := self.request_doc.get(key)) is not None:
                asked.open -= 1  # acknowledged with no response stored (the client gave up on it)

    def finished(self) -> list[IndexedDoc]:
        """q and r docs every item of which is done, in id order."""
        return sorted((d for d in self.docs.values() if d.kind != ACKS and d.open <= 0), key=lambda d: d.id)

    def ack_docs(self) -> list[IndexedDoc]:
        return sorted((d for d in self.docs.values() if d.kind == ACKS), key=lambda d: d.id)

    def deleted(self, ids: list[str]) -> None:
        """Forget docs deleted from the store (their keys stay known through the docs that answer them)."""
        for id in ids:
            doc = self.docs.pop(id)
            by_key = self.request_doc if doc.kind == REQUESTS else self.response_doc
            if doc.kind == ACKS:
                continue
            for key in doc.keys:
                if by_key.get(key) is doc:
                    del by_key[key]
