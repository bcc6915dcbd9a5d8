"""TLS configuration, kept apart from HTTP: the protocol only learns `secure`.

Contract: `context_from_files(certfile, keyfile)` builds a server-side
`ssl.SSLContext` from PEM files; `local_ca_context(folder)` makes a throwaway
certificate authority and a certificate for localhost with trustme, writes the
CA certificate (public, never the key) to `folder/ca.pem` for clients such as
`curl --cacert`, and returns (context, ca_path). Both refuse anything below
TLS 1.2. Errors are `StartupError`s with one line for the learner.
"""

import os
import ssl

from .listener import StartupError


def _base_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


def context_from_files(certfile, keyfile=None):
    context = _base_context()
    for path in filter(None, (certfile, keyfile)):
        if not os.path.isfile(path):
            raise StartupError(f"certificate file not found: {path}")
    try:
        context.load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as error:
        raise StartupError(f"cannot load the certificate/key ({certfile}, {keyfile}): {error}") from None
    return context


HOSTNAMES = ("localhost", "127.0.0.1", "::1")


def _local_authority(folder):
    try:
        import trustme
    except ImportError:
        raise StartupError("--tls without --certfile needs the trustme package: pip install trustme") from None
    authority = trustme.CA()
    os.makedirs(folder, exist_ok=True)
    ca_path = os.path.join(folder, "ca.pem")
    authority.cert_pem.write_to_path(ca_path)
    return authority.issue_cert(*HOSTNAMES), ca_path


def local_ca_context(folder):
    certificate, ca_path = _local_authority(folder)
    context = _base_context()
    certificate.configure_cert(context)  # the key stays in memory
    return context, ca_path


def local_ca_files(folder):
    """Like local_ca_context, but writes the certificate and key to `folder` too
    (mode 0600), for worker processes that must all serve the same certificate.
    Returns (certfile, keyfile, ca_path)."""
    certificate, ca_path = _local_authority(folder)
    certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    certificate.cert_chain_pems[0].write_to_path(certfile)
    descriptor = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(certificate.private_key_pem.bytes())
    return certfile, keyfile, ca_path
