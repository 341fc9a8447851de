"""Errors a person can act on: every message is one line that says what went wrong and what to do.

The hierarchy follows how a transfer reacts: `Retryable` failures are tried again with backoff,
`UrlRefused` fetches fresh URLs first, anything else stops the transfer.
"""

from __future__ import annotations

import json

import httpx

from score_tui.client.tls import refusal_message
from score_tui.errors import ScoreTuiError

TOKEN_HINT = "set ACCESSTOKEN, pass --token-file, or run `score-tui --batch login`"  # noqa: S105 - advice, not a secret


class TransferError(ScoreTuiError):
    """A failure that stops a transfer; the message is a sentence for the user."""


class Retryable(TransferError):
    """A failure worth trying again: the network, a busy server, a part that came out wrong."""


class UrlRefused(Retryable):
    """The object store refused a pre-signed URL (most often expired): fetch fresh URLs."""


class ChecksumMismatch(Retryable):
    """The bytes of a part were not the bytes sent or expected."""


class Stalled(Retryable):
    """A part moved no bytes for too long."""


class CertificateRefused(TransferError):
    """The server's TLS certificate cannot be verified: trying again will not change that."""


class AccessRefused(TransferError):
    """The broker or Song refused the token."""


class NotFound(TransferError):
    """The broker or Song does not know the object, upload or analysis."""


def server_message(response: httpx.Response) -> str:
    """The one-line reason a Score, Song or S3 server gave, whatever its body looks like."""
    text = response.text.strip()
    kind = response.headers.get("content-type", "")
    if "json" in kind or text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("error") or "").strip()
            error_id = body.get("errorId")
            if message:
                return f"{message} ({error_id})" if error_id else message
    if "html" in kind or text.lower().startswith(("<!doctype", "<html")):
        return f"the server answered with an HTML error page ({response.reason_phrase})"
    if text.startswith("<?xml") or text.startswith("<Error"):
        code = _xml_field(text, "Code")
        message = _xml_field(text, "Message")
        return ": ".join(part for part in (code, message) if part) or "object store error"
    first = text.splitlines()[0] if text else response.reason_phrase
    return first[:300]


def _xml_field(text: str, name: str) -> str:
    start = text.find(f"<{name}>")
    end = text.find(f"</{name}>")
    return text[start + len(name) + 2 : end].strip() if 0 <= start < end else ""


def service_error(what: str, response: httpx.Response) -> TransferError:
    """The error for a failed broker or Song call, following score-client's status mapping."""
    status = response.status_code
    reason = server_message(response)
    if status == 401:
        return AccessRefused(f"{what}: the token was not accepted ({reason}); {TOKEN_HINT}")
    if status == 403:
        return AccessRefused(
            f"{what}: access denied ({reason}); the token lacks the rights needed for this study"
        )
    if status == 404:
        return NotFound(f"{what}: not found ({reason})")
    if status == 400:
        return TransferError(f"{what}: refused as malformed ({reason})")
    if status in (429, 502, 503, 504):
        return Retryable(f"{what}: the server is busy or unavailable ({status}: {reason})")
    return TransferError(f"{what}: the server failed ({status}: {reason})")


def network_error(what: str, error: httpx.HTTPError) -> TransferError:
    """The retryable error for a connection or timeout failure; a refused TLS certificate is
    not retried."""
    try:
        url = str(error.request.url)
    except RuntimeError:  # an error raised without its request
        url = "the server"
    if message := refusal_message(error, url):
        return CertificateRefused(message)
    if isinstance(error, httpx.TimeoutException):
        return Stalled(f"{what}: no answer in time ({type(error).__name__})")
    return Retryable(f"{what}: cannot reach the server ({error or type(error).__name__})")
