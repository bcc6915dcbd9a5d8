"""The folders and files the server under test is given, made fresh for each run.

Contract: `Workspace()` makes a temporary folder holding `www/` (the --root:
index.html and a text file), `files/` (the --directory: a small file and a 4 MiB one) and,
beside them, `secret.txt`, which no request may ever reach; so do the copies of
it in `www-private/` and `files-private/`, whose names begin like the served
folders' (a check that compares path prefixes without the separator lets them
through), and the symbolic links `www/escape.txt` and `files/escape.txt` that
point to it, where the system lets us make links (`links` lists the ones made). `tls_files()`
makes a throwaway CA and a certificate for localhost with trustme, writes the
certificate chain and key for the server (the key with mode 0600) and returns
(certfile, keyfile, client SSLContext that trusts only that CA). `remove()`
deletes it all.
"""

import os
import random
import shutil
import ssl
import tempfile

INDEX_HTML = b"<!doctype html>\n<title>Stage tester</title>\n<h1>Hello from the stage tester</h1>\n"
ABOUT_TEXT = b"This file lives in --root; the stage tester asks for it by name.\n"
STORED_FILE = ("stored.bin", bytes(range(256)) * 4 + b"end of stored.bin\n")
# Larger than any socket buffer: one send() of it sends only part (sendall() sends it all).
BIG_FILE = ("big.bin", random.Random(4221).randbytes(4 * 1024 * 1024))
SECRET = b"TOP-SECRET-7f3a: this file sits outside --root and --directory\n"


class Workspace:
    """A temporary folder with --root, --directory and a secret outside both."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="httpserver-stages-")
        self.root = os.path.join(self.base, "www")
        self.directory = os.path.join(self.base, "files")
        self.secret_path = os.path.join(self.base, "secret.txt")
        os.makedirs(self.root)
        os.makedirs(self.directory)
        self._write(os.path.join(self.root, "index.html"), INDEX_HTML)
        self._write(os.path.join(self.root, "about.txt"), ABOUT_TEXT)
        self._write(os.path.join(self.directory, STORED_FILE[0]), STORED_FILE[1])
        self._write(os.path.join(self.directory, BIG_FILE[0]), BIG_FILE[1])
        self._write(self.secret_path, SECRET)
        for sibling in ("www-private", "files-private"):
            os.makedirs(os.path.join(self.base, sibling))
            self._write(os.path.join(self.base, sibling, "secret.txt"), SECRET)
        self.links = []  # URL paths of symbolic links that lead out of the served folders
        for folder, prefix in ((self.root, "/"), (self.directory, "/files/")):
            try:
                os.symlink(self.secret_path, os.path.join(folder, "escape.txt"))
            except (OSError, NotImplementedError):  # Windows without the privilege to make links
                continue
            self.links.append(prefix + "escape.txt")
        self._tls = None

    @staticmethod
    def _write(path, data):
        with open(path, "wb") as file:
            file.write(data)

    def stored(self, name):
        """The bytes of `name` in --directory, or None when there is no such file."""
        try:
            with open(os.path.join(self.directory, name), "rb") as file:
                return file.read()
        except OSError:
            return None

    def tls_files(self):
        if self._tls is None:
            try:
                import trustme
            except ImportError:
                raise RuntimeError("the TLS stages need the trustme package: pip install trustme") from None
            authority = trustme.CA()
            certificate = authority.issue_cert("localhost", "127.0.0.1", "::1")
            folder = os.path.join(self.base, "tls")
            os.makedirs(folder)
            certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
            certificate.cert_chain_pems[0].write_to_path(certfile)
            descriptor = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(certificate.private_key_pem.bytes())
            # PROTOCOL_TLS_CLIENT verifies the chain and the hostname; no system CAs loaded.
            client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            authority.configure_trust(client_context)
            self._tls = certfile, keyfile, client_context
        return self._tls

    def wsgi_app(self):
        """(the folder of the WSGI stages' application module, "module:app"), written once."""
        from .wsgi import APP_MODULE, APP_SOURCE  # the chapter 10 stages' own module

        folder = os.path.join(self.base, "app")
        if not os.path.isdir(folder):
            os.makedirs(folder)
            self._write(os.path.join(folder, APP_MODULE + ".py"), APP_SOURCE.encode("utf-8"))
        return folder, APP_MODULE + ":app"

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)
