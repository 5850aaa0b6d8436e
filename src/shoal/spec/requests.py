"""Decoding Tracking API request bodies: encoding, size limits, batches (spec §8.3–8.4).

A request is rejected as a whole (nothing stored) when the body itself is unusable: bad gzip,
invalid JSON, not an object, over the size or message-count limit, or a ``batch`` that is not an
array. Otherwise each message is judged on its own: valid ones are stored, invalid ones are
reported by index and JSON path.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from shoal.errors import MessageError, PayloadError
from shoal.spec.message import Message, MessageType
from shoal.spec.normalize import MAX_MESSAGE_BYTES, normalize, parse_timestamp

MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2_500


@dataclass(slots=True)
class DecodedRequest:
    """The outcome of decoding one request body."""

    write_key: str | None
    messages: list[Message] = field(default_factory=list)
    errors: list[MessageError] = field(default_factory=list)


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding: gzip`` without ever inflating more than ``limit + 1`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise PayloadError(
            f"unsupported Content-Encoding {content_encoding!r}; use gzip or none",
            code="unsupported_encoding",
            location="header:Content-Encoding",
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError(
            f"body is not valid gzip: {exc}", code="invalid_gzip", location="body"
        ) from None
    return out


def _too_large(size: int, limit: int, what: str, code: str, location: str) -> PayloadError:
    return PayloadError(
        f"{what} is {size} bytes; the limit is {limit} bytes", code=code, location=location
    )


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"invalid JSON: {exc}", code="invalid_json", location="body") from None


def decode_request(
    body: bytes,
    *,
    kind: MessageType | None,
    received_at: datetime,
    content_encoding: str | None = None,
    client_ip: str | None = None,
    authorize: Callable[[str | None], object] | None = None,
) -> DecodedRequest:
    """Decode a body sent to ``/v1/<kind>`` (``kind=None`` means ``/v1/batch`` or ``/v1/import``).

    ``authorize`` is called with the body's ``writeKey`` once the JSON is parsed and before any
    message is judged, so an unknown key is reported as such rather than as a field error.

    Raises:
        PayloadError: the body as a whole is unusable; nothing in it may be stored.
        MessageError: a single-call body holds an invalid message.
    """
    limit = MAX_MESSAGE_BYTES if kind is not None else MAX_BATCH_BYTES
    raw_body = decompress(body, content_encoding, limit)
    if len(raw_body) > limit:
        if kind is not None:
            raise _too_large(
                len(raw_body), limit, "the message", "message_too_large", location="body"
            )
        raise _too_large(len(raw_body), limit, "the batch", "batch_too_large", location="body")
    doc = _loads(raw_body)
    if not isinstance(doc, dict):
        raise PayloadError("the body must be a JSON object", code="invalid_body", location="$")
    write_key = doc.get("writeKey") if isinstance(doc.get("writeKey"), str) else None
    if authorize is not None:
        authorize(write_key)

    if kind is not None:
        message = normalize(
            _with_direct_ip(doc, client_ip), received_at=received_at, path="$", type_hint=kind
        )
        return DecodedRequest(write_key=write_key, messages=[message])

    items = doc.get("batch")
    if not isinstance(items, list):
        raise PayloadError(
            "batch must be an array of messages", code="invalid_batch", location="$.batch"
        )
    if len(items) > MAX_BATCH_MESSAGES:
        raise PayloadError(
            f"the batch holds {len(items)} messages; the limit is {MAX_BATCH_MESSAGES}",
            code="batch_too_many_messages",
            location="$.batch",
        )
    batch_sent_at = None
    if doc.get("sentAt") is not None:
        try:
            batch_sent_at = parse_timestamp(doc["sentAt"], "$.sentAt")
        except MessageError as exc:
            raise PayloadError(exc.message, code=exc.code, location=exc.location) from None
    shared_context = doc.get("context") if isinstance(doc.get("context"), dict) else None
    shared_integrations = (
        doc.get("integrations") if isinstance(doc.get("integrations"), dict) else None
    )
    # Only a body over 32 KB can hold an oversized message; skip re-encoding otherwise.
    check_sizes = len(raw_body) > MAX_MESSAGE_BYTES
    result = DecodedRequest(write_key=write_key)
    for index, item in enumerate(items):
        path = f"$.batch[{index}]"
        try:
            if check_sizes and len(orjson.dumps(item)) > MAX_MESSAGE_BYTES:
                size = len(orjson.dumps(item))
                raise MessageError(
                    f"the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes",
                    code="message_too_large",
                    location=path,
                )
            if isinstance(item, dict) and (shared_context or shared_integrations):
                item = _merge_shared(item, shared_context, shared_integrations)
            message = normalize(
                _with_direct_ip(item, client_ip),
                received_at=received_at,
                path=path,
                batch_sent_at=batch_sent_at,
            )
        except MessageError as exc:
            result.errors.append(exc)
            continue
        result.messages.append(message)
    return result


def _merge_shared(
    item: dict[str, Any], context: dict[str, Any] | None, integrations: dict[str, Any] | None
) -> dict[str, Any]:
    """Batch-level context/integrations apply to every item; the item's own keys win."""
    merged = dict(item)
    if context is not None:
        own = item.get("context")
        merged["context"] = {**context, **own} if isinstance(own, dict) else dict(context)
    if integrations is not None:
        own = item.get("integrations")
        merged["integrations"] = (
            {**integrations, **own} if isinstance(own, dict) else dict(integrations)
        )
    return merged


def _with_direct_ip(item: Any, client_ip: str | None) -> Any:
    """``context.direct: true`` asks the server to record the caller's IP (spec §8.3)."""
    if client_ip is None or not isinstance(item, dict):
        return item
    context = item.get("context")
    if isinstance(context, dict) and context.get("direct") is True and "ip" not in context:
        return {**item, "context": {**context, "ip": client_ip}}
    return item
