"""Sending what a connection produced: bytes and files, in order, never copied.

Contract: `Outbox` holds the items a `Connection` returned (bytes, and
`FileBody` objects to stream) for a non-blocking socket. `send(sock)` sends as
much as the kernel takes now and returns True once everything has gone, False
when the socket's buffer is full (wait until it is writable, then call again).
Other socket errors are raised for the caller to close the connection.
`send_all(sock, items, timeout)` is the blocking form, for the thread models.

Nothing is joined into a new buffer: a cached file's bytes, shared by every
response that serves it, leave from that one object. Several buffers go to the
kernel in one `sendmsg` call (scatter-gather I/O) where the platform has it; a
file leaves with `sendfile`, the kernel copying from the page cache to the
socket, except under TLS, which must encrypt in user space.
"""

import collections
import os
import socket
import ssl

from .response import FileBody

FILE_CHUNK = 256 * 1024
MAX_BUFFERS = 64  # buffers handed to one sendmsg call (the kernel's IOV_MAX is 1024)
HAS_SENDFILE = hasattr(os, "sendfile")
WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError)


def can_gather(sock):
    """True when `sock` takes several buffers in one call (plain sockets, not Windows)."""
    return hasattr(socket.socket, "sendmsg") and not isinstance(sock, ssl.SSLSocket)


class Outbox(collections.deque):
    """Items waiting to be sent on one connection, in order: bytes, memoryviews
    and FileBody objects. (A deque, so adding and testing cost no Python call.)"""

    __slots__ = ()

    def send(self, sock, stop_at_file=False):
        """Send what the socket takes now; True once the outbox is empty, or
        (`stop_at_file`) once a file is next, for the caller to send elsewhere."""
        items = self
        try:
            if len(items) == 1 and type(items[0]) is bytes:  # the common case: one small answer
                sent = sock.send(items[0])
                if sent == len(items[0]):
                    items.clear()
                    return True
                items[0] = memoryview(items[0])[sent:]
                return False
            while items:
                if isinstance(items[0], FileBody):
                    if stop_at_file:
                        return True
                    if not send_file_part(sock, items[0]):
                        return False
                    items.popleft().close()
                    continue
                if not self._send_buffers(sock):
                    return False
        except WOULD_BLOCK:
            return False
        return True

    def _send_buffers(self, sock):
        """Send the buffers at the front; False if the socket took less than all."""
        items = self
        if can_gather(sock) and len(items) > 1 and not isinstance(items[1], FileBody):
            buffers = []
            for item in items:
                if isinstance(item, FileBody) or len(buffers) == MAX_BUFFERS:
                    break
                buffers.append(item)
            sent = sock.sendmsg(buffers)
        else:
            buffers = [items[0]]
            sent = sock.send(items[0])
        for buffer in buffers:
            if sent < len(buffer):
                items[0] = memoryview(buffer)[sent:]  # the rest, without copying it
                return False
            sent -= len(buffer)
            items.popleft()
        return True

    def close(self):
        """Drop what was not sent, closing any open file."""
        for item in self:
            if isinstance(item, FileBody):
                item.close()
        self.clear()


def send_file_part(sock, body):
    """Send some of a FileBody on a non-blocking socket; True once all of it has gone."""
    if HAS_SENDFILE and not isinstance(sock, ssl.SSLSocket):  # kernel copies file → socket
        while body.length:
            try:
                sent = os.sendfile(sock.fileno(), body.file.fileno(), body.offset, body.length)
            except WOULD_BLOCK:
                return False
            if sent == 0:
                break  # the file shrank under us; stop here
            body.offset += sent
            body.length -= sent
        return True
    # TLS encrypts in user space, and Windows has no os.sendfile: read and send.
    while body.length:
        body.file.seek(body.offset)
        chunk = body.file.read(min(FILE_CHUNK, body.length))
        if not chunk:
            break
        try:
            sent = sock.send(chunk)
        except WOULD_BLOCK:
            return False
        body.offset += sent
        body.length -= sent
        if sent < len(chunk):
            return False
    return True


def send_all(sock, items, timeout):
    """Send every item on a blocking socket, waiting at most `timeout` for each write."""
    sock.settimeout(timeout)
    buffers = []
    for item in items:
        if not isinstance(item, FileBody):
            buffers.append(item)
            continue
        _send_buffers_blocking(sock, buffers)
        buffers = []
        with item.file:  # sendfile() is zero-copy on plain TCP
            sock.sendfile(item.file, item.offset, item.length)
    _send_buffers_blocking(sock, buffers)


def send_waiting(sock, items, timeout):
    """`send_all` on a non-blocking socket, from a thread that may wait for the client
    (an application's write(), see connection.py); the socket is non-blocking again after."""
    try:
        send_all(sock, items, timeout)
    finally:
        sock.setblocking(False)


def _send_buffers_blocking(sock, buffers):
    if len(buffers) > 1 and can_gather(sock):
        views = collections.deque(memoryview(buffer) for buffer in buffers)
        while views:
            sent = sock.sendmsg(list(views)[:MAX_BUFFERS])
            while views and sent >= len(views[0]):
                sent -= len(views.popleft())
            if sent:
                views[0] = views[0][sent:]
        return
    for buffer in buffers:
        sock.sendall(buffer)
