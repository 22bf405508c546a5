"""The sandbox's Feeds API desk: feed documents, JSON_LISTINGS_FEED processing, processing reports.

A feed goes IN_QUEUE → IN_PROGRESS → DONE over ``feed_polls_to_finish`` getFeed calls; when it
finishes, each PATCH message is applied to the listings like a patchListingsItem, and the
processing report (gzip-compressed, as Amazon serves larger reports) lists every refused
message's issues with its ``messageId``. A document that is not a listings feed ends FATAL.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradewire.connectors.amazon.sandbox_store import SandboxAmazon


@dataclass
class FeedState:
    """One submitted feed."""

    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created_time: str
    status: str = "IN_QUEUE"
    polls: int = 0
    result_document_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FeedsDesk:
    """Feed documents and feeds of one sandbox account."""

    def __init__(self, store: SandboxAmazon) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.documents: dict[str, bytes | None] = {}
        self.compressed: set[str] = set()
        self.feeds: dict[str, FeedState] = {}

    def create_document(self) -> str:
        """A new, empty feed document id (upload it with PUT to its URL)."""
        document_id = "amzn1.tortuga.4." + uuid.uuid4().hex
        with self.lock:
            self.documents[document_id] = None
        return document_id

    def upload(self, document_id: str, content: bytes) -> bool:
        """Store the uploaded feed; False when the document does not exist."""
        with self.lock:
            if document_id not in self.documents:
                return False
            self.documents[document_id] = content
            return True

    def download(self, document_id: str) -> bytes | None:
        """Bytes of a document (None when unknown or never uploaded)."""
        with self.lock:
            return self.documents.get(document_id)

    def create_feed(self, feed_type: str, marketplace_ids: list[str], document_id: str) -> str | None:
        """A new feed over an uploaded document; None when the document is unknown or empty."""
        with self.lock:
            if self.documents.get(document_id) is None:
                return None
            feed_id = str(50_000_000_000 + len(self.feeds) + 1)
            self.feeds[feed_id] = FeedState(
                feed_id=feed_id,
                feed_type=feed_type,
                marketplace_ids=marketplace_ids,
                input_document_id=document_id,
                created_time=self.store.now_text(),
            )
            return feed_id

    def get_feed(self, feed_id: str) -> dict[str, Any] | None:
        """getFeed: advances the feed one step per call until it finishes."""
        with self.lock:
            feed = self.feeds.get(feed_id)
            if feed is None:
                return None
            if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
                feed.polls += 1
                if feed.polls >= self.store.options.feed_polls_to_finish:
                    self._process(feed)
                else:
                    feed.status = "IN_PROGRESS"
            answer: dict[str, Any] = {
                "feedId": feed.feed_id,
                "feedType": feed.feed_type,
                "marketplaceIds": feed.marketplace_ids,
                "createdTime": feed.created_time,
                "processingStatus": feed.status,
            }
            if feed.result_document_id:
                answer["resultFeedDocumentId"] = feed.result_document_id
            return answer

    def document_info(self, document_id: str) -> dict[str, Any] | None:
        """getFeedDocument without the URL (the app adds it)."""
        with self.lock:
            if document_id not in self.documents:
                return None
            info: dict[str, Any] = {"feedDocumentId": document_id}
            if document_id in self.compressed:
                info["compressionAlgorithm"] = "GZIP"
            return info

    def _process(self, feed: FeedState) -> None:
        raw = self.documents.get(feed.input_document_id) or b""
        try:
            document = json.loads(raw)
            messages = document["messages"]
            seller = document["header"]["sellerId"]
            if not isinstance(messages, list) or feed.feed_type != "JSON_LISTINGS_FEED":
                raise ValueError("not a listings feed")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            feed.status = "FATAL"
            report = {
                "header": {"sellerId": self.store.seller_id, "version": "2.0", "feedId": feed.feed_id},
                "issues": [{"code": "100001", "severity": "ERROR", "message": f"The feed could not be read: {exc}"}],
                "summary": {
                    "errors": 1,
                    "warnings": 0,
                    "messagesProcessed": 0,
                    "messagesAccepted": 0,
                    "messagesInvalid": 0,
                },
            }
            self._store_report(feed, report)
            return
        issues: list[dict[str, Any]] = []
        accepted = invalid = 0
        for message in messages:
            message_id = message.get("messageId") if isinstance(message, dict) else None
            sku = message.get("sku") if isinstance(message, dict) else None
            problems = self._apply(message, seller)
            for problem in problems:
                issues.append({"messageId": message_id, "sku": sku, **problem})
            if problems:
                invalid += 1
            else:
                accepted += 1
        feed.status = "DONE"
        report = {
            "header": {"sellerId": seller, "version": "2.0", "feedId": feed.feed_id},
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": len(messages),
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        }
        self._store_report(feed, report)

    def _apply(self, message: Any, seller: str) -> list[dict[str, Any]]:
        if seller != self.store.seller_id:
            return [{"code": "100002", "severity": "ERROR", "message": f"Seller {seller} is not this account."}]
        if not isinstance(message, dict) or not isinstance(message.get("sku"), str):
            return [{"code": "100003", "severity": "ERROR", "message": "The message has no sku."}]
        if message.get("operationType") != "PATCH":
            return [{"code": "100004", "severity": "ERROR", "message": "The sandbox applies PATCH messages only."}]
        answer = self.store.patch_listing(
            message["sku"], {"productType": message.get("productType"), "patches": message.get("patches")}
        )
        return [{"code": i["code"], "severity": i["severity"], "message": i["message"]} for i in answer["issues"]]

    def _store_report(self, feed: FeedState, report: dict[str, Any]) -> None:
        document_id = "amzn1.tortuga.3." + uuid.uuid4().hex
        self.documents[document_id] = gzip.compress(json.dumps(report).encode("utf-8"))
        self.compressed.add(document_id)
        feed.result_document_id = document_id
