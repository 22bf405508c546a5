"""The NetSuite sandbox's returns: return authorisations and their credit memos.

``PUT /record/v1/returnAuthorization/eid:…`` upserts a return authorisation (``createdFrom`` a
sales order that exists, every line's item must exist; ``?replace=item`` replaces the lines).
``POST /record/v1/returnAuthorization/{id}/!transform/creditMemo`` credits it once: a second
transform is refused (``USER_ERROR``, nothing left to credit), a repeated ``externalId`` is
``DUP_RCRD``. ``GET`` reads either record by id or ``eid:``. Served before the generic record
routes, with the same auth and fault knobs.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.netsuite.sandbox_store import SandboxError, SandboxStore

RECORD_ROOT = "/services/rest/record/v1"
RETURN_AUTHORIZATION = "returnAuthorization"
CREDIT_MEMO = "creditMemo"
Handler = Callable[[Request], Awaitable[Response]]


class ReturnsBook:
    """Return authorisations and credit memos of one sandbox account (thread-safe)."""

    def __init__(self, records: SandboxStore) -> None:
        self.records = records
        self._lock = threading.Lock()
        self._ids = itertools.count(90_001)
        self.docs: dict[str, dict[str, dict[str, Any]]] = {RETURN_AUTHORIZATION: {}, CREDIT_MEMO: {}}
        self.eids: dict[str, dict[str, str]] = {RETURN_AUTHORIZATION: {}, CREDIT_MEMO: {}}
        self.transforms = 0

    def resolve(self, record_type: str, ref: str) -> str | None:
        """Internal id of ``ref`` (id or ``eid:…``), or None."""
        with self._lock:
            if ref.startswith("eid:"):
                return self.eids[record_type].get(ref[4:])
            return ref if ref in self.docs[record_type] else None

    def get(self, record_type: str, ref: str) -> dict[str, Any]:
        """A copy of one record. Raises SandboxError 404 when missing."""
        internal_id = self.resolve(record_type, ref)
        if internal_id is None:
            raise SandboxError(404, "NONEXISTENT_ID", f"The record instance does not exist. ({record_type} {ref})")
        with self._lock:
            return copy.deepcopy(self.docs[record_type][internal_id])

    def upsert_authorization(self, external_id: str, body: dict[str, Any], *, replace: bool) -> str:
        """Create or update the return authorisation ``eid:external_id``; return its id."""
        source = body.get("createdFrom")
        source_id = source.get("id") if isinstance(source, dict) else None
        if not isinstance(source_id, str) or self.records.resolve("salesOrder", source_id) is None:
            raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid createdFrom reference {source!r}", "createdFrom")
        lines = (body.get("item") or {}).get("items") if isinstance(body.get("item"), dict) else None
        if not isinstance(lines, list) or not lines:
            raise SandboxError(400, "USER_ERROR", "You must enter at least one line item for this transaction.", "item")
        for index, line in enumerate(lines):
            item = line.get("item") if isinstance(line, dict) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str) or self.records.resolve("inventoryItem", item_id) is None:
                raise SandboxError(400, "INVALID_FLD_VALUE", f"Invalid item reference {item!r}", f"item.items[{index}]")
        with self._lock:
            internal_id = self.eids[RETURN_AUTHORIZATION].get(external_id)
            record = self.docs[RETURN_AUTHORIZATION].get(internal_id or "", {})
            if record.get("creditMemo") is not None:
                raise SandboxError(400, "USER_ERROR", "A credited return authorization can no longer be edited.")
            old = [] if replace or not record else record["item"]["items"]
            record = {**record, **copy.deepcopy(body), "item": {"items": [*old, *copy.deepcopy(lines)]}}
            if internal_id is None:
                internal_id = str(next(self._ids))
                record["tranId"] = f"RMA{internal_id}"
                record["status"] = "Pending Receipt"
            record.update(id=internal_id, externalId=external_id)
            self.docs[RETURN_AUTHORIZATION][internal_id] = record
            self.eids[RETURN_AUTHORIZATION][external_id] = internal_id
            return internal_id

    def credit(self, ref: str, body: dict[str, Any]) -> str:
        """Transform the return authorisation into its credit memo (once); return the memo's id."""
        ra_id = self.resolve(RETURN_AUTHORIZATION, ref)
        if ra_id is None:
            raise SandboxError(
                404, "NONEXISTENT_ID", f"The record instance does not exist. ({RETURN_AUTHORIZATION} {ref})"
            )
        with self._lock:
            authorization = self.docs[RETURN_AUTHORIZATION][ra_id]
            if authorization.get("creditMemo") is not None:
                raise SandboxError(400, "USER_ERROR", "There are no lines left to credit on this return authorization.")
            eid = body.get("externalId")
            if eid is not None and str(eid) in self.eids[CREDIT_MEMO]:
                raise SandboxError(400, "DUP_RCRD", f"A record with external ID {eid} already exists.", "externalId")
            memo_id = str(next(self._ids))
            memo = {
                **copy.deepcopy(body),
                "id": memo_id,
                "tranId": f"CM{memo_id}",
                "createdFrom": {"id": ra_id},
                "entity": copy.deepcopy(authorization.get("entity")),
                "item": copy.deepcopy(authorization["item"]),
                "total": sum(
                    float(i.get("quantity", 0)) * float(i.get("rate", 0)) for i in authorization["item"]["items"]
                ),
            }
            self.docs[CREDIT_MEMO][memo_id] = memo
            if eid is not None:
                self.eids[CREDIT_MEMO][str(eid)] = memo_id
            authorization["creditMemo"] = {"id": memo_id}
            authorization["status"] = "Refunded"
            self.transforms += 1
            return memo_id

    def credit_memos(self) -> list[dict[str, Any]]:
        """Every credit memo (copies), oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for m in self.docs[CREDIT_MEMO].values()]


def _location(request: Request, record_type: str, internal_id: str) -> Response:
    base = f"{request.url.scheme}://{request.headers.get('host', '')}{RECORD_ROOT}/{record_type}/{internal_id}"
    return Response(status_code=204, headers={"Location": base})


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise SandboxError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise SandboxError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
    return body


def returns_routes(book: ReturnsBook, guarded: Callable[[Handler], Handler]) -> list[Route]:
    """The routes serving ``book`` (put them before the generic record routes)."""

    async def authorization(request: Request) -> Response:
        ref = request.path_params["ref"]
        if request.method == "GET":
            return JSONResponse(book.get(RETURN_AUTHORIZATION, ref))
        if not ref.startswith("eid:"):
            raise SandboxError(400, "INVALID_REQUEST", "PUT is only supported with an external ID (eid:).")
        replace = "item" in request.query_params.get("replace", "").split(",")
        internal_id = book.upsert_authorization(ref[4:], await _body(request), replace=replace)
        return _location(request, RETURN_AUTHORIZATION, internal_id)

    async def transform(request: Request) -> Response:
        memo_id = book.credit(request.path_params["ref"], await _body(request))
        return _location(request, CREDIT_MEMO, memo_id)

    async def credit_memo(request: Request) -> Response:
        return JSONResponse(book.get(CREDIT_MEMO, request.path_params["ref"]))

    return [
        Route(
            f"{RECORD_ROOT}/{RETURN_AUTHORIZATION}/{{ref}}/!transform/{CREDIT_MEMO}",
            guarded(transform),
            methods=["POST"],
        ),
        Route(f"{RECORD_ROOT}/{RETURN_AUTHORIZATION}/{{ref}}", guarded(authorization), methods=["GET", "PUT"]),
        Route(f"{RECORD_ROOT}/{CREDIT_MEMO}/{{ref}}", guarded(credit_memo), methods=["GET"]),
    ]
