"""TLS configuration, kept apart from HTTP: the protocol only learns `secure`.

Contract:
- `context_from_files(certfile, keyfile)` builds a server-side `ssl.SSLContext`
  from PEM files.
- `local_ca_context(folder)` uses the certificate authority kept in `folder`
  (made there the first time, see localca.py: `ca.pem`, public, and
  `ca-key.pem`, readable by its owner only; a folder or key others can read is
  refused), issues a fresh certificate for localhost, and returns (context,
  path of ca.pem). A browser told once to trust `ca.pem` keeps
  trusting every later certificate, as long as the folder is kept.
- `local_ca_files(folder, leaf_folder)` is the same, but writes the localhost
  certificate and its key to `leaf_folder`, for worker processes that must all
  serve the same certificate.
- `write_key_log(context, path)` makes the context append its session secrets to
  `path`, in the SSLKEYLOGFILE format that Wireshark reads (a new file is made
  0600; an existing one must be the user's own, 0600, and not a link).
- `default_ca_folder()` is where the command line keeps its CA.
- `send_close_notify(sock)` ends TLS politely before the TCP close.

Every context refuses anything below TLS 1.2. Errors are `StartupError`s with
one line for the learner.
"""

import os
import shutil
import ssl
import sys
import tempfile
from pathlib import Path

from .listener import StartupError
from .localca import LocalCA
from .privatefiles import create_private, open_private_log, same_file


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


def local_ca_context(folder):
    """(context with a new localhost certificate, path of the CA's ca.pem)."""
    authority = LocalCA.load_or_create(folder)
    context = _base_context()
    chain, key = authority.issue_localhost()
    # The ssl module loads keys from files only: a private folder, gone at once.
    leaf_folder = tempfile.mkdtemp(prefix="httpserver-leaf-")
    try:
        certfile, keyfile = _write_leaf(leaf_folder, chain, key)
        context.load_cert_chain(certfile, keyfile)
    finally:
        shutil.rmtree(leaf_folder, ignore_errors=True)
    return context, authority.path


def local_ca_files(folder, leaf_folder):
    """Returns (certfile, keyfile, ca_path); see the module docstring."""
    authority = LocalCA.load_or_create(folder)
    certfile, keyfile = _write_leaf(leaf_folder, *authority.issue_localhost())
    return certfile, keyfile, authority.path


def _write_leaf(folder, chain, key):
    certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    create_private(keyfile, key)
    create_private(certfile, chain, mode=0o644)
    return certfile, keyfile


def write_key_log(context, path):
    """Append this context's TLS secrets to `path` (NSS key log format).

    Anyone with this file can decrypt the captured traffic: it is for
    learning and debugging on your own machine, never for a real server.
    """
    # Created readable by its owner only; an existing file must be ours and
    # private, and not a link (privatefiles.py). Python then opens it by name:
    # if that is no longer the file we checked, we refuse.
    descriptor = open_private_log(path)
    try:
        context.keylog_filename = path
        if not same_file(descriptor, path):
            context.keylog_filename = None
            raise StartupError(f"the key log {path} was replaced while it was opened")
    except (OSError, NotImplementedError) as error:
        raise StartupError(f"cannot write the TLS key log {path}: {error}") from None
    finally:
        os.close(descriptor)


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
