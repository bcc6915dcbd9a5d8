"""This server's own certificate authority, for HTTPS on this computer only.

Contract: `LocalCA.load_or_create(folder)` returns the CA kept in `folder`
(`ca.pem`, public, and `ca-key.pem`, its owner's only), making both the first
time; `ca.issue_localhost()` returns (certificate PEM, private key PEM) of a
fresh server certificate for localhost, 127.0.0.1 and ::1, signed by it.
Problems are `StartupError`s with one line for the user.

What the certificates say, and why (RFC 5280):
- The CA may sign only server certificates for this computer's own names: its
  Name Constraints permit `localhost`, 127.0.0.0/8 and ::1 and nothing else,
  so even a stolen `ca-key.pem` cannot impersonate any other site to a browser
  that was told to trust `ca.pem`. It lasts 10 years, like mkcert's.
- A server certificate is for TLS servers only (Extended Key Usage
  serverAuth), cannot sign others (Basic Constraints CA:FALSE), and lasts 90
  days; a new one is issued at every start, so it never needs renewing.
- Keys are ECDSA P-256: the cheapest handshake browsers all accept.

Needs the `cryptography` package (pip install cryptography), an optional
extra: the server's HTTP needs only the standard library.
"""

import datetime
import getpass
import ipaddress
import os
import platform

from .listener import StartupError
from .privatefiles import check_private_file, check_private_folder, create_private

CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
CA_NAME = "httpserver local CA"
HOSTNAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
CA_LIFETIME = datetime.timedelta(days=3650)
SERVER_LIFETIME = datetime.timedelta(days=90)
CLOCK_SKEW = datetime.timedelta(hours=1)  # valid from a little before now: clocks differ


def _x509():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise StartupError("--tls without --certfile needs the cryptography package: "
                           "pip install cryptography") from None
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def _owner():
    """Who and where, for the CA's name, so a browser's list of authorities says whose it is."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = "you"
    return f"{user}@{platform.node()}"[:64]


class LocalCA:
    """A CA certificate and its private key (objects of the cryptography package)."""

    def __init__(self, certificate, key, path):
        self.certificate = certificate
        self.key = key
        self.path = path  # of ca.pem: what a browser or curl is told to trust

    @classmethod
    def load_or_create(cls, folder):
        x509, _, serialization, _, _, _ = _x509()
        cert_path, key_path = os.path.join(folder, CA_CERT), os.path.join(folder, CA_KEY)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError as error:
            raise StartupError(f"cannot make the CA folder {folder}: {error.strerror}") from None
        check_private_folder(folder)
        have_cert, have_key = os.path.lexists(cert_path), os.path.lexists(key_path)
        if have_cert != have_key:
            present, missing = (CA_CERT, CA_KEY) if have_cert else (CA_KEY, CA_CERT)
            raise StartupError(f"{folder} holds {present} without {missing}: delete {present} "
                               f"(or the folder) and a new CA is made")
        if have_key:
            check_private_file(key_path)
            try:
                with open(cert_path, "rb") as cert, open(key_path, "rb") as key:
                    certificate = x509.load_pem_x509_certificate(cert.read())
                    private_key = serialization.load_pem_private_key(key.read(), password=None)
            except (OSError, ValueError, TypeError) as error:
                raise StartupError(f"cannot read the local CA in {folder} ({error}); "
                                   f"delete that folder to make a new CA") from None
            return cls(certificate, private_key, cert_path)
        authority = cls.create(cert_path)
        create_private(key_path, authority.key_pem())  # the key first: a ca.pem is never without it
        create_private(cert_path, authority.certificate_pem(), mode=0o644)
        return authority

    @classmethod
    def create(cls, path):
        """A new CA (not saved)."""
        x509, hashes, _, ec, _, NameOID = _x509()
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CA_NAME),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "for development on this computer only"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} of {_owner()}"),
        ])
        now = datetime.datetime.now(datetime.timezone.utc)
        public = key.public_key()
        permitted = [x509.DNSName(name) for name in HOSTNAMES]
        permitted += [x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
                      x509.IPAddress(ipaddress.ip_network("::1/128"))]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key, path)

    def issue_localhost(self):
        """(certificate chain PEM, private key PEM) for a new localhost server certificate."""
        x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID = _x509()
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        names = [x509.DNSName(name) for name in HOSTNAMES]
        names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ADDRESSES]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "httpserver"),
                x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            ]))
            .issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + SERVER_LIFETIME)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return certificate.public_bytes(serialization.Encoding.PEM), key_pem

    def key_pem(self):
        _, _, serialization, _, _, _ = _x509()
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def certificate_pem(self):
        _, _, serialization, _, _, _ = _x509()
        return self.certificate.public_bytes(serialization.Encoding.PEM)
