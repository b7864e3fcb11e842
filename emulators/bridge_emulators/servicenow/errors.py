"""Errors raised by the emulator's model; the HTTP layer turns each into the platform's error envelope.

ApiError                 status + message + detail, rendered as {"error": {...}, "status": "failure"}
├── InvalidTable         400 "Invalid table <name>"
├── RecordNotFound       404 "No Record found"
├── BadRequest           400 malformed body or parameters
└── OperationFailed      403 ACL or data policy refusal
"""

from __future__ import annotations


class ApiError(Exception):
    """A failure the Table API reports with a status code and the standard error envelope."""

    status = 500

    def __init__(self, message: str, detail: str | None = None) -> None:
        self.message = message
        self.detail = detail
        super().__init__(f"{message}: {detail}" if detail else message)


class InvalidTable(ApiError):
    """The table does not exist (and new tables are not allowed)."""

    status = 400

    def __init__(self, table: str) -> None:
        super().__init__(f"Invalid table {table}", None)


class RecordNotFound(ApiError):
    """No record with that sys_id (the platform says the same when an ACL hides it)."""

    status = 404

    def __init__(self, action: str = "retrieval") -> None:
        super().__init__("No Record found", f"Record doesn't exist or ACL restricts the record {action}")


class BadRequest(ApiError):
    """The request body or a parameter is malformed."""

    status = 400


class OperationFailed(ApiError):
    """The platform refused the write: an ACL or a data policy."""

    status = 403

    def __init__(self, detail: str) -> None:
        super().__init__("Operation Failed", detail)
