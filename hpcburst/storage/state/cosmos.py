"""The Azure state store: Cosmos DB (SQL API), one container per state container, partitioned on ``/pk``.

A document is stored as ``{"id", "pk", **body}``; Cosmos's system fields are stripped on read.
Only operations both Cosmos DB and @vercel/cosmosdb-server answer the same way are used:
- ``get`` is a point read (1 RU for 1 KB, the cheapest Cosmos operation). The server answers 500, not
  404, to a point read of a missing item; with ``emulator=True`` (tests only: ``HPCBURST_COSMOS_EMULATOR``)
  a 500 is settled by a single-partition query by id, so a missing item is NotFound there too. Against
  Cosmos DB a 500 is never taken for a 404.
- queries name the partition key in their text (the server refuses single-partition queries that
  don't), use no GROUP BY/DISTINCT/OFFSET/LIKE, and page by keyset (``TOP`` + the last sort key)
  over composite indexes this module declares, so a continuation token is ours, not the service's.
- ``batch`` is a transactional batch. Each operation also carries its partition key (as the
  JavaScript SDK sends it), which the server needs for replace/upsert/delete. The server applies
  a batch in order but not atomically; Cosmos DB applies it atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey, exceptions

from hpcburst import constants as c
from hpcburst.errors import Conflict, Forbidden, InvalidSpec, NotFound, StorageUnavailable
from hpcburst.storage.state import rules
from hpcburst.storage.state.port import Document, Page, WriteOp

SYSTEM_FIELDS = ("id", "pk", "_rid", "_self", "_etag", "_attachments", "_ts", "_lsn")


def indexing_policy(fields: Sequence[str]) -> dict[str, Any]:
    """Index everything, plus the composite indexes keyset paging orders by (both directions)."""
    orders = [[f"/{name}", "/pk", "/id"] for name in fields] + [["/pk", "/id"]]
    composite = [
        [{"path": path, "order": direction} for path in paths]
        for paths in orders
        for direction in ("ascending", "descending")
    ]
    return {
        "indexingMode": "consistent",
        "automatic": True,
        "includedPaths": [{"path": "/*"}],
        "excludedPaths": [{"path": '/"_etag"/?'}],
        "compositeIndexes": composite,
    }


@contextmanager
def _mapped_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (exceptions.CosmosHttpResponseError, exceptions.CosmosBatchOperationError) as e:
        status = e.status_code
        if status == 404:
            raise NotFound(f"{what} not found") from e
        if status == 409:
            raise Conflict(f"{what} already exists") from e
        if status == 412:
            raise Conflict(f"{what} changed since the etag given") from e
        if status in (401, 403):
            raise Forbidden(f"{what}: Cosmos DB refused access ({e.message})") from e
        if status == 400:
            raise InvalidSpec(f"{what}: Cosmos DB refused the request ({e.message})") from e
        raise StorageUnavailable(f"{what}: Cosmos DB error {status} ({e.message})") from e
    except (ServiceRequestError, ServiceResponseError) as e:
        raise StorageUnavailable(f"{what}: Cosmos DB unreachable ({e})") from e


def _document(item: Mapping[str, Any]) -> Document:
    body = {k: v for k, v in item.items() if k not in SYSTEM_FIELDS}
    return Document(str(item["pk"]), str(item["id"]), body, item.get("_etag"))


def _etag_of(result: Mapping[str, Any]) -> str:
    return str(result.get("eTag") or result["resourceBody"]["_etag"])


def _with_partition_keys(partition: str) -> Any:
    """A raw-request hook adding ``partitionKey`` to each batch operation (see the module docstring)."""
    key = json.dumps([partition])

    def hook(request: Any) -> None:
        http = request.http_request
        ops = json.loads(http.data)
        for op in ops:
            op.setdefault("partitionKey", key)
        http.data = json.dumps(ops, separators=(",", ":"))
        http.headers["Content-Length"] = str(len(http.data))

    return hook


class CosmosStateStore:
    """StateStore on Cosmos DB. ``key_or_credential``: the account key, or an azure-identity credential.

    With a key, the database and containers are created if missing. With a credential (managed
    identity), data-plane RBAC cannot create them: they must be provisioned with ``indexing_policy``.
    """

    def __init__(
        self,
        endpoint: str,
        key_or_credential: Any,
        database: str,
        verify_tls: bool = True,
        emulator: bool = False,
    ) -> None:
        self._emulator = emulator
        self._client = CosmosClient(endpoint, credential=key_or_credential, connection_verify=verify_tls)
        self._containers: dict[str, ContainerProxy] = {}
        with _mapped_errors(f"Cosmos DB database {database}"):
            if isinstance(key_or_credential, str):
                db = self._client.create_database_if_not_exists(database)
                for name, fields in c.INDEXED_FIELDS.items():
                    self._containers[name] = db.create_container_if_not_exists(
                        name, partition_key=PartitionKey(path="/pk"), indexing_policy=indexing_policy(fields)
                    )
            else:
                db = self._client.get_database_client(database)
                for name in c.INDEXED_FIELDS:
                    self._containers[name] = db.get_container_client(name)
        self.database = database

    def _container(self, container: str) -> ContainerProxy:
        rules.check_container(container)
        return self._containers[container]

    def close(self) -> None:
        self._client.close()

    # --- writes ---
    def get(self, container: str, partition: str, id: str) -> Document:
        what = f"{container}/{partition}/{id}"
        target = self._container(container)
        try:
            with _mapped_errors(what):
                return _document(target.read_item(id, partition_key=partition))
        except StorageUnavailable as error:
            cause = error.__cause__
            if not (self._emulator and getattr(cause, "status_code", None) == 500):
                raise
        return self._get_by_query(target, what, partition, id)

    @staticmethod
    def _get_by_query(target: ContainerProxy, what: str, partition: str, id: str) -> Document:
        """The emulator's answer to a point read that failed with 500: is the item there at all?"""
        sql = "SELECT * FROM c WHERE c.pk = @pk AND c.id = @id"
        params: list[dict[str, object]] = [{"name": "@pk", "value": partition}, {"name": "@id", "value": id}]
        with _mapped_errors(what):
            items = list(target.query_items(sql, parameters=params, partition_key=partition))
        if not items:
            raise NotFound(f"{what} not found")
        return _document(items[0])

    def create(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document:
        item = self._item(partition, id, body)
        with _mapped_errors(f"{container}/{partition}/{id}"):
            return _document(self._container(container).create_item(item))

    def replace(
        self, container: str, partition: str, id: str, body: Mapping[str, Any], if_match: str | None = None
    ) -> Document:
        item = self._item(partition, id, body)
        with _mapped_errors(f"{container}/{partition}/{id}"):
            return _document(self._container(container).replace_item(id, item, **self._condition(if_match)))

    def upsert(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document:
        item = self._item(partition, id, body)
        with _mapped_errors(f"{container}/{partition}/{id}"):
            return _document(self._container(container).upsert_item(item))

    def delete(self, container: str, partition: str, id: str, if_match: str | None = None) -> None:
        rules.check_address(partition, id)
        with _mapped_errors(f"{container}/{partition}/{id}"):
            self._container(container).delete_item(id, partition_key=partition, **self._condition(if_match))

    def batch(self, container: str, partition: str, ops: Sequence[WriteOp]) -> list[Document | None]:
        """One transactional batch (at most ``rules.MAX_BATCH_OPS`` operations, as Cosmos DB allows)."""
        target = self._container(container)
        rules.check_batch(ops)
        if not ops:
            return []
        operations = [self._batch_operation(partition, op) for op in ops]
        try:
            with _mapped_errors(f"batch on {container}/{partition}"):
                results = target.execute_item_batch(
                    operations, partition_key=partition, raw_request_hook=_with_partition_keys(partition)
                )
        except (NotFound, Conflict) as error:
            cause = error.__cause__
            index = getattr(cause, "error_index", None)
            if index is not None:
                failed = ops[index]
                raise type(error)(
                    f"batch op {index} ({failed.kind} {container}/{partition}/{failed.id}): {error}"
                ) from cause
            raise
        return [
            None if op.kind == "delete" else Document(partition, op.id, dict(op.body), _etag_of(result))
            for op, result in zip(ops, results, strict=True)
        ]

    def _batch_operation(self, partition: str, op: WriteOp) -> tuple[Any, ...]:
        rules.check_write(partition, op)
        condition = {"if_match_etag": op.if_match} if op.if_match is not None else {}
        if op.kind == "delete":
            return ("delete", (op.id,), condition)
        item = self._item(partition, op.id, op.body)
        args = (op.id, item) if op.kind == "replace" else (item,)
        return (op.kind, args, condition if op.kind == "replace" else {})

    @staticmethod
    def _item(partition: str, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        rules.check_address(partition, id)
        rules.encode_body(body)  # same refusals (reserved keys, non-JSON) as every adapter
        return {**body, "id": id, "pk": partition}

    @staticmethod
    def _condition(if_match: str | None) -> dict[str, Any]:
        return (
            {} if if_match is None else {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        )

    # --- reads ---
    def query(
        self,
        container: str,
        partition: str | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 100,
        continuation: str | None = None,
    ) -> Page:
        rules.check_query(container, where, order_by, limit)
        filters = _Filters(partition, where)
        keys = [_path(order_by), "c.pk", "c.id"] if order_by else ["c.pk", "c.id"]
        if order_by:  # documents lacking the field are not ordered (the same rule as SQLite)
            filters.add(f"IS_DEFINED({keys[0]}) AND NOT IS_NULL({keys[0]})")
        if continuation is not None:
            after = rules.decode_continuation(continuation, len(keys))
            filters.add(_keyset_after(keys, [filters.param(v) for v in after], descending))
        direction = " DESC" if descending else ""
        order = ", ".join(k + direction for k in keys)
        sql = f"SELECT TOP {limit + 1} * FROM c{filters.sql()} ORDER BY {order}"
        if filters.empty:
            return Page([], None)
        with _mapped_errors(f"query on {container}"):
            items = list(self._query(container, sql, filters.params, partition))
        docs = [_document(item) for item in items[:limit]]
        token = None
        if len(items) > limit:
            last = items[limit - 1]
            key = [last[order_by], last["pk"], last["id"]] if order_by else [last["pk"], last["id"]]
            token = rules.encode_continuation(key)
        return Page(docs, token)

    def count(
        self, container: str, partition: str | None = None, where: Mapping[str, Any] | None = None
    ) -> int:
        rules.check_query(container, where, None, 1)
        filters = _Filters(partition, where)
        if filters.empty:
            return 0
        with _mapped_errors(f"count on {container}"):
            values = list(
                self._query(
                    container, f"SELECT VALUE COUNT(1) FROM c{filters.sql()}", filters.params, partition
                )
            )
        return int(sum(values))

    def _query(
        self, container: str, sql: str, params: list[dict[str, Any]], partition: str | None
    ) -> Iterator[Any]:
        scope: dict[str, Any] = (
            {"partition_key": partition} if partition is not None else {"enable_cross_partition_query": True}
        )
        return iter(self._container(container).query_items(sql, parameters=params, **scope))


def _path(field: str) -> str:
    # Bracket notation: a field may share its name with a Cosmos SQL keyword.
    return f'c["{field}"]'


def _keyset_after(keys: list[str], names: list[str], descending: bool) -> str:
    """``(k1, k2, k3) > (v1, v2, v3)`` spelled out, since Cosmos SQL has no row-value comparison.

    Written flat (``k1 > v1 OR k1 = v1 AND k2 > v2 OR ...``, AND binding tighter than OR) because
    the Cosmos server's parser takes time exponential in the nesting of parentheses (~1 s at 3 levels).
    """
    op = "<" if descending else ">"
    terms = []
    for i, (key, name) in enumerate(zip(keys, names, strict=True)):
        equal = [f"{k} = {n}" for k, n in zip(keys[:i], names[:i], strict=True)]
        terms.append(" AND ".join([*equal, f"{key} {op} {name}"]))
    return "(" + " OR ".join(terms) + ")"


class _Filters:
    """The WHERE clause of a query and its parameters (every value travels as a parameter)."""

    def __init__(self, partition: str | None, where: Mapping[str, Any] | None) -> None:
        self.clauses: list[str] = []
        self.params: list[dict[str, Any]] = []
        self.empty = False  # an empty IN list: nothing can match
        if partition is not None:
            self.add(f"c.pk = {self.param(partition)}")
        for name, value in (where or {}).items():
            if isinstance(value, list | tuple):
                self.empty = self.empty or not value
                self.add(f"{_path(name)} IN ({', '.join(self.param(v) for v in value)})")
            else:
                self.add(f"{_path(name)} = {self.param(value)}")

    def param(self, value: Any) -> str:
        name = f"@p{len(self.params)}"
        self.params.append({"name": name, "value": value})
        return name

    def add(self, clause: str) -> None:
        self.clauses.append(clause)

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""
