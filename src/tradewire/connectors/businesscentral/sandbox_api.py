"""The Business Central sandbox's request dispatcher: one API call (or one ``$batch`` operation) at a time.

Routes ``/companies({id})/entitySet({key})/lineSet({key})``, bound actions and
``/subscriptions('id')`` to the company's records, applying OData ``$filter`` / ``$expand`` /
``$top`` / ``$orderby`` and server-driven paging (``Prefer: odata.maxpagesize``, ``$skiptoken``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tradewire.connectors.businesscentral.sandbox_odata import odata_filter
from tradewire.connectors.businesscentral.sandbox_store import LINE_SETS, SandboxError

if TYPE_CHECKING:
    from tradewire.connectors.businesscentral.sandbox import BusinessCentralSandbox

SERVER_PAGE_MAX = 20000
_SEGMENT = re.compile(r"^([A-Za-z.$]+)(?:\((.*)\))?$")


def _segments(rest: str) -> list[tuple[str, str | None]]:
    out = []
    for raw in [s for s in rest.split("/") if s]:
        match = _SEGMENT.match(raw)
        if match is None:
            raise SandboxError(404, "BadRequest_NotFound", f"Resource not found for the segment '{raw}'.")
        key = match.group(2)
        out.append((match.group(1), key.strip("'") if key is not None else None))
    return out


class Api:
    """Dispatches one API request (also each operation of a ``$batch``)."""

    def __init__(self, state: BusinessCentralSandbox, root_url: str) -> None:
        self.state = state
        self.company = state.company
        self.root_url = root_url

    async def __call__(self, method: str, rest: str, query: dict[str, str], headers: dict[str, str],
                       body: Any) -> tuple[int, Any]:  # fmt: skip
        segs = _segments(rest)
        state, company = self.state, self.company
        changed = state.entity_changed_status
        if_match = headers.get("if-match")
        if segs and segs[0][0] == "subscriptions":
            key = segs[0][1]
            if key is None:
                if method == "POST":
                    return 201, await state.subs.create(_obj(body), state.handshake)
                return 200, {"value": state.subs.all()}
            if method == "PATCH":
                return 200, await state.subs.renew(key, _obj(body), if_match, changed, state.handshake)
            if method == "DELETE":
                state.subs.delete(key)
                return 204, None
            return 200, state.subs.get(key)
        if not segs or segs[0][0] != "companies":
            raise SandboxError(404, "BadRequest_NotFound", f"Resource not found for the segment '{rest[:60]}'.")
        if segs[0][1] is None:
            return 200, {"value": [self._company()]}
        if segs[0][1] != company.id:
            raise SandboxError(404, "BadRequest_NotFound", f"The company '{segs[0][1]}' was not found.")
        if len(segs) == 1:
            return 200, self._company()
        name, key = segs[1]
        expand = query.get("$expand")
        line_set = LINE_SETS.get(name)
        if expand and expand != line_set:
            raise SandboxError(400, "BadRequest", f"Could not find a property named '{expand}' on type '{name}'.")
        if len(segs) == 2 and key is None:
            if method == "POST":
                if name == "customers":
                    record = company.create_customer(_obj(body))
                elif name in ("salesOrders", "salesCreditMemos"):
                    record = company.create_document(name, _obj(body))
                else:
                    raise SandboxError(405, "BadRequest_MethodNotAllowed", f"POST is not allowed on '{name}'.")
                state.changed(name, record, "created")
                if expand:
                    record = company.present(company.document(name, record["id"]), expand)
                return 201, record
            rows = self._rows(name, expand)
            return 200, self._page(name, rows, query, headers)
        if key is None:
            raise SandboxError(400, "BadRequest", "A key is required.")
        if len(segs) == 2:
            if method == "GET":
                record = company.present(company.document(name, key), expand) if line_set else company.get(name, key)
                return 200, record
            if name not in ("salesOrders", "salesCreditMemos"):
                raise SandboxError(405, "BadRequest_MethodNotAllowed", f"{method} is not allowed on '{name}'.")
            if method == "PATCH":
                record = company.patch_document(name, key, _obj(body), if_match, changed)
                state.changed(name, record, "updated")
                return 200, record
            if method == "DELETE":
                company.delete_document(name, key, if_match, changed)
                state.changed(name, None, "deleted", key)
                return 204, None
            raise SandboxError(405, "BadRequest_MethodNotAllowed", f"{method} is not allowed here.")
        sub, sub_key = segs[2]
        if sub == "Microsoft.NAV.shipAndInvoice" and name == "salesOrders" and method == "POST":
            shipment, invoice = company.ship_and_invoice(key)
            state.notify_posting(key, shipment, invoice)
            return 204, None
        if sub != line_set or len(segs) > 3:
            raise SandboxError(404, "BadRequest_NotFound", f"Resource not found for the segment '{sub}'.")
        if sub_key is None and method == "GET":
            lines = company.present(company.document(name, key), sub)[sub]
            return 200, self._page(f"{name}({key})/{sub}", lines, query, headers)
        if name not in ("salesOrders", "salesCreditMemos") and method != "GET":
            raise SandboxError(405, "BadRequest_MethodNotAllowed", f"{method} is not allowed on posted documents.")
        line = company.line_op(name, key, sub_key, method, _obj(body) if body is not None else {}, if_match, changed)
        if method != "GET":
            state.changed(name, company.get(name, key), "updated")
        status = {"POST": 201, "DELETE": 204}.get(method, 200)
        return status, line

    def _company(self) -> dict[str, Any]:
        return {"id": self.company.id, "systemVersion": "24.0.16410.18056", "name": "CRONUS US",
                "displayName": "CRONUS USA, Inc.", "businessProfileId": ""}  # fmt: skip

    def _rows(self, name: str, expand: str | None) -> list[dict[str, Any]]:
        if name in LINE_SETS:
            with self.company.lock:
                return [self.company.present(r, expand) for r in self.company.sets[name].values()]
        return self.company.rows(name)

    def _page(
        self, path: str, rows: list[dict[str, Any]], query: dict[str, str], headers: dict[str, str]
    ) -> dict[str, Any]:
        if "$filter" in query:
            rows = [r for r in rows if odata_filter(query["$filter"])(r)]
        if "$orderby" in query:
            field, _, direction = query["$orderby"].partition(" ")
            rows = sorted(
                rows, key=lambda r: (str(r.get(field, "")), str(r.get("id"))), reverse=direction.strip() == "desc"
            )
        if "$top" in query:
            rows = rows[: _int(query["$top"], "$top")]
        size = SERVER_PAGE_MAX
        match = re.search(r"odata\.maxpagesize=(\d+)", headers.get("prefer", ""))
        if match:
            size = max(1, min(int(match.group(1)), SERVER_PAGE_MAX))
        skip = _int(query.get("$skiptoken", "0"), "$skiptoken")
        body: dict[str, Any] = {
            "@odata.context": f"{self.root_url}/$metadata#{path.split('/')[-1]}",
            "value": rows[skip : skip + size],
        }
        if skip + size < len(rows):
            following = {k: v for k, v in query.items() if k != "$skiptoken"} | {"$skiptoken": str(skip + size)}
            body["@odata.nextLink"] = f"{self.root_url}/companies({self.company.id})/{path}?{urlencode(following)}"
        return body


def _obj(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SandboxError(400, "BadRequest", "The request body must be a JSON object.")
    return body


def _int(value: str, what: str) -> int:
    if not value.isdigit():
        raise SandboxError(400, "BadRequest", f"Invalid value '{value}' for {what}.")
    return int(value)
