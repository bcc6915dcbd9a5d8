"""TLS configuration, kept apart from HTTP: the protocol only learns `secure`.

Contract:
- `context_from_files(certfile, keyfile)` builds a server-side `ssl.SSLContext`
  from PEM files.
- `local_ca_context(folder)` uses the certificate authority kept in `folder`
  (made there with trustme the first time: `ca.pem`, public, and `ca-key.pem`,
  readable by its owner only), issues a fresh certificate for localhost, and
  returns (context, path of ca.pem). A browser told once to trust `ca.pem` keeps
  trusting every later certificate, as long as the folder is kept.
- `local_ca_files(folder, leaf_folder)` is the same, but writes the localhost
  certificate and its key to `leaf_folder`, for worker processes that must all
  serve the same certificate.
- `write_key_log(context, path)` makes the context append its session secrets to
  `path`, in the SSLKEYLOGFILE format that Wireshark reads.
- `default_ca_folder()` is where the command line keeps its CA.
- `send_close_notify(sock)` ends TLS politely before the TCP close.

Every context refuses anything below TLS 1.2. Errors are `StartupError`s with
one line for the learner.
"""

import os
import ssl
import sys
from pathlib import Path

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
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
CA_NAME = "httpserver local CA"


def default_ca_folder():
    """The per-user folder where the command line keeps its local CA: the
    platform's usual place for an application's data."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:  # the XDG Base Directory convention of Linux and other Unixes
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return str(Path(base) / "httpserver" / "ca")


def write_private(path, data):
    """Write a private key readable by its owner only (mode 0600 from the start,
    so it is never readable by others, not even for a moment)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def load_or_create_ca(folder):
    """The trustme CA kept in `folder`, made and saved there if absent."""
    try:
        import trustme
    except ImportError:
        raise StartupError("--tls without --certfile needs the trustme package: pip install trustme") from None
    cert_path, key_path = os.path.join(folder, CA_CERT), os.path.join(folder, CA_KEY)
    if os.path.exists(cert_path) and os.path.exists(key_path):
        try:
            with open(cert_path, "rb") as cert, open(key_path, "rb") as key:
                return trustme.CA.from_pem(cert.read(), key.read()), cert_path
        except (OSError, ValueError) as error:
            raise StartupError(f"cannot read the local CA in {folder} ({error}); "
                               f"delete that folder to make a new CA") from None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        # The name a browser's list of authorities will show.
        authority = trustme.CA(organization_name=CA_NAME,
                               organization_unit_name="for development on this computer only")
        write_private(key_path, authority.private_key_pem.bytes())  # the key first:
        authority.cert_pem.write_to_path(cert_path)  # a ca.pem is never without its key
    except OSError as error:
        raise StartupError(f"cannot write the local CA to {folder}: {error}") from None
    return authority, cert_path


def local_ca_context(folder):
    authority, ca_path = load_or_create_ca(folder)
    context = _base_context()
    authority.issue_cert(*HOSTNAMES).configure_cert(context)  # its key stays in memory
    return context, ca_path


def local_ca_files(folder, leaf_folder):
    """Returns (certfile, keyfile, ca_path); see the module docstring."""
    authority, ca_path = load_or_create_ca(folder)
    certificate = authority.issue_cert(*HOSTNAMES)
    certfile, keyfile = os.path.join(leaf_folder, "cert.pem"), os.path.join(leaf_folder, "key.pem")
    certificate.cert_chain_pems[0].write_to_path(certfile)
    write_private(keyfile, certificate.private_key_pem.bytes())
    return certfile, keyfile, ca_path


def write_key_log(context, path):
    """Append this context's TLS secrets to `path` (NSS key log format).

    Anyone with this file can decrypt the captured traffic: it is for
    learning and debugging on your own machine, never for a real server.
    """
    try:
        # Created readable by its owner only; OpenSSL then appends to it.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        context.keylog_filename = path
    except (OSError, NotImplementedError) as error:
        raise StartupError(f"cannot write the TLS key log {path}: {error}") from None


def send_close_notify(sock):
    """Send our close_notify alert (RFC 8446 §6.1) without waiting for the peer's.

    Without it, the client sees the TCP connection end with no TLS goodbye and
    cannot tell a complete response from one an attacker cut short. On a
    non-blocking socket `unwrap` sends our alert and then raises because the
    peer's has not arrived; we close without it, as RFC 8446 allows. A socket
    that never became TLS (plain HTTP sent to the TLS port) is left alone.
    """
    if not isinstance(sock, ssl.SSLSocket):
        return
    try:
        sock.setblocking(False)
        sock.unwrap()
    except (ssl.SSLError, OSError, ValueError):
        pass
