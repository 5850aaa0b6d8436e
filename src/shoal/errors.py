"""The one exception tree of Shoal.

```
ShoalError
├── UserError                  safe to show; .code (stable string), .http_status, .location
│   ├── ConfigError            a setting could not be read or is invalid
│   ├── AuthError              missing/unknown write key or access token (401)
│   ├── ForbiddenError         a valid credential for another space (403)
│   ├── NotFoundError          an unknown space, profile or definition (404)
│   ├── PayloadError           a request body as a whole is unusable (bad JSON, too large)
│   ├── MessageError           one Segment message breaks a field rule; .path names the field
│   ├── InputFileError         a file given to the CLI cannot be read; .location is file:line
│   ├── StoreBusyError         the data directory is owned by another process
│   └── DefinitionError        a query-language definition is invalid; .line/.col/.hint
│       ├── DefinitionSyntaxError
│       └── DefinitionTypeError
└── InternalError              a bug in Shoal; never the user's fault
```

User errors carry a stable ``code`` (documented in docs/errors.md) so that clients and tests can
match on it, and a ``location`` that says where the problem is (a JSON path, ``file:line`` or
``line:col``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class ShoalError(Exception):
    """Root of every error Shoal raises on purpose."""


class UserError(ShoalError):
    """An error caused by input; its message is safe to show to the user."""

    http_status: ClassVar[int] = 400
    default_code: ClassVar[str] = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.location = location

    def to_dict(self) -> dict[str, Any]:
        """The JSON body fragment for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.location is not None:
            body["location"] = self.location
        return body

    def __str__(self) -> str:
        if self.location:
            return f"{self.message} (at {self.location})"
        return self.message


class ConfigError(UserError):
    """A setting could not be read or has an invalid value."""

    default_code = "invalid_config"


class AuthError(UserError):
    """A missing or unknown credential."""

    http_status = 401
    default_code = "unauthorized"


class ForbiddenError(UserError):
    """A valid credential used for a space it does not belong to."""

    http_status = 403
    default_code = "forbidden"


class NotFoundError(UserError):
    """Something named in a request does not exist."""

    http_status = 404
    default_code = "not_found"


class PayloadError(UserError):
    """A request body that cannot be used at all (bad JSON, too large, bad encoding)."""

    default_code = "invalid_payload"


class MessageError(UserError):
    """One Segment message breaks a field rule; ``location`` is the JSON path of the field."""

    default_code = "invalid_message"


class InputFileError(UserError):
    """A file given on the command line cannot be read or parsed."""

    default_code = "invalid_input_file"


class StoreBusyError(UserError):
    """The data directory's DuckDB file is held by another process."""

    http_status = 409
    default_code = "store_busy"


class DefinitionError(UserError):
    """An invalid audience or computed-trait definition.

    ``line`` and ``col`` are 1-based; ``end_col`` marks the end of the offending text on that line.
    """

    default_code = "invalid_definition"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        line: int = 1,
        col: int = 1,
        end_col: int | None = None,
        hint: str | None = None,
    ):
        super().__init__(message, code=code, location=f"{line}:{col}")
        self.line = line
        self.col = col
        self.end_col = end_col if end_col is not None else col + 1
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        body = {"code": self.code, "message": self.message, "line": self.line, "col": self.col}
        if self.hint:
            body["hint"] = self.hint
        return body


class DefinitionSyntaxError(DefinitionError):
    """The definition text does not follow the grammar."""

    default_code = "syntax"


class DefinitionTypeError(DefinitionError):
    """The definition parses but breaks a typing rule."""

    default_code = "type"


class InternalError(ShoalError):
    """A bug in Shoal. Reported as HTTP 500 with an opaque id."""
