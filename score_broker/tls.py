"""The broker's own TLS: its certificate and key checked before it listens, and a client context
that trusts it, for the calls the broker makes to itself."""

from __future__ import annotations

import ssl

from score_broker.config import ConfigError


def check_server_files(cert_file: str, key_file: str) -> None:
    """Raise ConfigError (one line) unless the certificate and key load and belong together."""
    for key, path in (("tls_cert_file", cert_file), ("tls_key_file", key_file)):
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            raise ConfigError(
                f"[server] {key} {path}: cannot read it ({error.strerror})."
            ) from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert_file)
    except ssl.SSLError:
        raise ConfigError(
            f"[server] tls_cert_file {cert_file} holds no PEM certificate; give the "
            "server's certificate (and its chain) in PEM."
        ) from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # An encrypted key would otherwise make OpenSSL ask for its password on the terminal.
        context.load_cert_chain(cert_file, key_file, password=_no_password)
    except _EncryptedKey:
        raise ConfigError(
            f"[server] tls_key_file {key_file} is encrypted; give the key unencrypted "
            "(readable only by the broker's user)."
        ) from None
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error) or error.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError(
                f"[server] tls_key_file {key_file} is not the key of tls_cert_file "
                f"{cert_file}; give the certificate's own key."
            ) from None
        raise ConfigError(
            f"[server] tls_key_file {key_file} holds no PEM private key; give the "
            "certificate's key in PEM."
        ) from None


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    raise _EncryptedKey


def trusting_own_certificate(cert_file: str) -> ssl.SSLContext:
    """A client context that trusts the system's certificates and the broker's own, so that
    the broker can call its public URL even with a certificate of a private CA."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=cert_file)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the certificate itself is trusted
    return context
