"""Certificates for HTTPS tests: a private CA and a server certificate it signs for 127.0.0.1
and localhost, and a self-signed one, written as PEM files."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ServerFiles:
    """A server's certificate and key, and the CA file that makes a client trust it."""

    cert_file: Path
    key_file: Path
    ca_file: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _server_cert(
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    hosts: tuple[str, ...],
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(host)) for host in hosts]
    return (
        x509.CertificateBuilder()
        .subject_name(_name("score-broker test server"))
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def make_ca_signed(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1",)) -> ServerFiles:
    """A CA (its certificate is the CA file) and a server certificate it signed."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = _name("score-broker test CA")
    now = datetime.datetime.now(datetime.UTC)
    signing_only = x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(signing_only, critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _key()
    server_cert = _server_cert(server_key, ca_name, ca_key, hosts)
    return ServerFiles(
        _write_cert(server_cert, directory / "server.pem"),
        _write_key(server_key, directory / "server-key.pem"),
        _write_cert(ca_cert, directory / "ca.pem"),
    )


def make_self_signed(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1",)) -> ServerFiles:
    """A server certificate signed by its own key (it is its own CA file)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _key()
    cert = _server_cert(key, _name("score-broker test server"), key, hosts)
    cert_file = _write_cert(cert, directory / "self-signed.pem")
    return ServerFiles(cert_file, _write_key(key, directory / "self-signed-key.pem"), cert_file)


@pytest.fixture(scope="session")
def ca_signed(tmp_path_factory: pytest.TempPathFactory) -> ServerFiles:
    """A private CA and a certificate it signed for 127.0.0.1 and localhost."""
    return make_ca_signed(tmp_path_factory.mktemp("tls-ca"))


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ServerFiles:
    """A certificate for 127.0.0.1 and localhost that signed itself."""
    return make_self_signed(tmp_path_factory.mktemp("tls-self-signed"))
