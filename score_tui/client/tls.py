"""One TLS context for every connection the client makes, made when the first HTTPS URL needs
it: loading the system's certificates takes about 30 ms, which every plain-HTTP run saves."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system's trusted certificates (and SSL_CERT_FILE / SSL_CERT_DIR, as OpenSSL reads)."""
    return ssl.create_default_context()


def verify_for(url: str) -> ssl.SSLContext | bool:
    """What httpx should verify with for clients of `url`: nothing to load for plain HTTP."""
    return tls_context() if url.lower().startswith("https:") else False
