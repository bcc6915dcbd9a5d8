"""Content types by file extension.

A fixed table rather than the `mimetypes` module, whose answers depend on the
machine (its files on Linux, the registry on Windows): the same file gets the
same type for every learner.
"""

import functools
import os

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/vnd.microsoft.icon",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".woff2": "font/woff2",
    ".mp4": "video/mp4",
    ".ipynb": "application/x-ipynb+json",
    ".pcap": "application/vnd.tcpdump.pcap",
    ".http": "text/plain; charset=utf-8",
    ".py": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".gz": "application/gzip",
}
DEFAULT = "application/octet-stream"

# Types worth compressing: text, and text-based formats. Images and archives
# are compressed already; gzip would only add bytes and time.
_COMPRESSIBLE_PREFIXES = ("text/", "application/json", "application/xml",
                          "image/svg+xml", "application/x-ipynb+json", "application/wasm")


@functools.lru_cache(maxsize=1024)  # a site has few paths that are asked for often
def content_type(path):
    """The Content-Type for a file name, application/octet-stream when unknown."""
    name = path.rpartition(os.sep)[2]
    return TYPES.get(name[name.rfind("."):].lower(), DEFAULT) if "." in name else DEFAULT


@functools.lru_cache(maxsize=64)
def compressible(content_type):
    """Whether gzip is worth applying to a body of this type."""
    return content_type.startswith(_COMPRESSIBLE_PREFIXES)
