"""The TLS contexts of the client's connections, one per extra CA file, each made when the first
HTTPS URL needs it: loading the system's certificates takes about 30 ms, which every plain-HTTP
run saves.

Every context trusts the system's certificates, as OpenSSL finds them (so SSL_CERT_FILE and
SSL_CERT_DIR work), plus the CA file of `--ca-file` or the profile's `ca_file` when one is given.
"""

from __future__ import annotations

import functools
import ssl
from urllib.parse import urlsplit

#: What to do about a certificate the client cannot verify, in every message that says so.
CA_HINT = (
    "If you trust it, pass its CA with --ca-file, set ca_file in the profile, or set SSL_CERT_FILE."
)


class CaFileError(ValueError):
    """The CA file cannot be read or holds no PEM certificate; the message says which."""


@functools.cache
def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The system's trusted certificates, plus those of `ca_file` (PEM) if given."""
    context = ssl.create_default_context()
    if ca_file:
        _load(context, ca_file)
    return context


def check_ca_file(ca_file: str) -> None:
    """Raise CaFileError if `ca_file` cannot be read or holds no PEM certificate (without
    loading the system's certificates)."""
    _load(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), ca_file)


def _load(context: ssl.SSLContext, ca_file: str) -> None:
    try:
        context.load_verify_locations(cafile=ca_file)
    except FileNotFoundError:
        raise CaFileError(f"the CA file {ca_file} does not exist") from None
    except ssl.SSLError as error:
        raise CaFileError(
            f"the CA file {ca_file} holds no PEM certificate ({error.reason})"
        ) from None
    except OSError as error:
        raise CaFileError(f"cannot read the CA file {ca_file}: {error.strerror}") from None


def verify_for(url: str, ca_file: str | None = None) -> ssl.SSLContext | bool:
    """What httpx should verify with for clients of `url`: nothing to load for plain HTTP."""
    return tls_context(ca_file) if url.lower().startswith("https:") else False


def refused_certificate(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind a connection error, if that is what it is."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL: whose certificate it is, without path or signature."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def certificate_message(origin: str, error: ssl.SSLCertVerificationError) -> str:
    """One line: whose certificate, what is wrong with it, and how to trust it."""
    problem = error.verify_message or error.reason or "the certificate was refused"
    return f"cannot verify the TLS certificate of {origin}: {problem}. {CA_HINT}"


def refusal_message(error: BaseException, url: str) -> str | None:
    """The one-line message for a refused certificate behind `error`, a failed connection to
    `url`; None if the certificate is not what failed."""
    refused = refused_certificate(error)
    return None if refused is None else certificate_message(origin_of(url), refused)
