"""Amazon SP-API payloads as the client returns them (Pydantic, unknown fields kept)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Vendor(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ApiError(_Vendor):
    """One entry of an SP-API ``errors`` array."""

    code: str = ""
    message: str = ""
    details: str | None = None


class ErrorList(_Vendor):
    """``{"errors": [...]}``: the body of every SP-API error answer."""

    errors: list[ApiError] = Field(default_factory=list)


class LwaToken(_Vendor):
    """Answer of the LWA token endpoint."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - a token kind, not a secret
    expires_in: float = 3600.0


class RestrictedDataToken(_Vendor):
    """Answer of createRestrictedDataToken."""

    restricted_data_token: str = Field(alias="restrictedDataToken")
    expires_in: float = Field(default=3600.0, alias="expiresIn")


class OrdersPage(_Vendor):
    """``payload`` of getOrders: raw order elements (mapped later) and the next page token."""

    orders: list[dict[str, Any]] = Field(default_factory=list, alias="Orders")
    next_token: str | None = Field(default=None, alias="NextToken")
    last_updated_before: str | None = Field(default=None, alias="LastUpdatedBefore")
    created_before: str | None = Field(default=None, alias="CreatedBefore")


class OrderItemsPage(_Vendor):
    """``payload`` of getOrderItems."""

    amazon_order_id: str = Field(alias="AmazonOrderId")
    order_items: list[dict[str, Any]] = Field(default_factory=list, alias="OrderItems")
    next_token: str | None = Field(default=None, alias="NextToken")


class ListingsIssue(_Vendor):
    """An issue of a listings submission."""

    code: str = ""
    message: str = ""
    severity: str = "ERROR"
    attribute_names: list[str] = Field(default_factory=list, alias="attributeNames")


class ListingsSubmission(_Vendor):
    """``ListingsItemSubmissionResponse`` of patchListingsItem."""

    sku: str
    status: str
    submission_id: str = Field(alias="submissionId")
    issues: list[ListingsIssue] = Field(default_factory=list)


class FeedDocument(_Vendor):
    """createFeedDocument / getFeedDocument answer."""

    feed_document_id: str = Field(alias="feedDocumentId")
    url: str
    compression_algorithm: str | None = Field(default=None, alias="compressionAlgorithm")


class Feed(_Vendor):
    """getFeed answer."""

    feed_id: str = Field(alias="feedId")
    feed_type: str = Field(default="", alias="feedType")
    processing_status: str = Field(alias="processingStatus")
    result_feed_document_id: str | None = Field(default=None, alias="resultFeedDocumentId")

    @property
    def finished(self) -> bool:
        """True once Amazon stopped working on it (DONE, FATAL or CANCELLED)."""
        return self.processing_status in {"DONE", "FATAL", "CANCELLED"}


class ReportIssue(_Vendor):
    """One issue of a listings feed processing report."""

    message_id: int | None = Field(default=None, alias="messageId")
    sku: str | None = None
    code: str = ""
    severity: str = "ERROR"
    message: str = ""


class ReportSummary(_Vendor):
    """Counts of a listings feed processing report."""

    errors: int = 0
    warnings: int = 0
    messages_processed: int = Field(default=0, alias="messagesProcessed")
    messages_accepted: int = Field(default=0, alias="messagesAccepted")
    messages_invalid: int = Field(default=0, alias="messagesInvalid")


class ProcessingReport(_Vendor):
    """A JSON_LISTINGS_FEED processing report."""

    issues: list[ReportIssue] = Field(default_factory=list)
    summary: ReportSummary = Field(default_factory=ReportSummary)

    def errors_by_message(self) -> dict[int, list[ReportIssue]]:
        """ERROR issues grouped by ``messageId`` (messages Amazon refused)."""
        grouped: dict[int, list[ReportIssue]] = {}
        for issue in self.issues:
            if issue.severity == "ERROR" and issue.message_id is not None:
                grouped.setdefault(issue.message_id, []).append(issue)
        return grouped


class FeedResult(_Vendor):
    """What a whole JSON_LISTINGS_FEED run ended with."""

    feed_id: str
    processing_status: str
    report: ProcessingReport | None = None
