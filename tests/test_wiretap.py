"""The wire tap over real sockets on 127.0.0.1: what it records, and its plot."""

import array
import socket
import threading
import time

import pytest

from httpserver.lab.wiretap import RECEIVED, SENT, Tap, chunk_sizes, format_events, plot_timeline, tap

MIB = 1024 * 1024


@pytest.fixture
def connected_pair():
    """A client and a server socket joined by a real TCP connection on 127.0.0.1."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname(), timeout=10)
    server, _ = listener.accept()
    server.settimeout(10)
    listener.close()
    yield client, server
    client.close()
    server.close()


def receive_until_closed(sock, bufsize=65536):
    """Read until the peer closes; return all the bytes."""
    chunks = []
    while True:
        chunk = sock.recv(bufsize)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_send_and_recv_are_recorded_with_their_bytes(connected_pair):
    client, server = tap(connected_pair[0], "client"), tap(connected_pair[1], "server")
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert server.recv(1024) == b"GET / HTTP/1.1\r\n\r\n"

    [sent] = client.events
    [received] = server.events
    assert (sent.label, sent.direction, sent.size, sent.data) == ("client", SENT, 18, b"GET / HTTP/1.1\r\n\r\n")
    assert (received.direction, received.size) == (RECEIVED, 18)
    assert sent.started <= sent.time <= received.time
    assert not sent.truncated


def test_one_big_sendall_is_one_event_and_arrives_in_several_chunks(connected_pair):
    client, server = tap(connected_pair[0], "client"), tap(connected_pair[1], "server")
    payload = bytes(range(256)) * (MIB // 256)
    # sendall blocks until the receiver makes room, so it runs in its own thread.
    sender = threading.Thread(target=lambda: (client.sendall(payload), client.shutdown(socket.SHUT_WR)))
    sender.start()
    assert receive_until_closed(server) == payload
    sender.join(timeout=10)

    assert chunk_sizes(client, SENT) == [MIB]
    received = chunk_sizes(server, RECEIVED)
    assert len(received) > 1 and sum(received) == MIB
    assert server.events[-1].size == 0  # the end of stream is recorded, not counted as a chunk


def test_several_small_sends_can_arrive_as_one_recv(connected_pair):
    client, server = tap(connected_pair[0], "client"), tap(connected_pair[1], "server")
    for word in (b"one ", b"two ", b"three"):
        client.send(word)
    # Wait (peeking at the untapped socket) until all 13 bytes are in the receive
    # buffer: then one recv takes them all, whatever the timing of the sends.
    while len(connected_pair[1].recv(100, socket.MSG_PEEK)) < 13:
        time.sleep(0.01)
    client.shutdown(socket.SHUT_WR)
    assert receive_until_closed(server) == b"one two three"
    assert chunk_sizes(client, SENT) == [4, 4, 5]
    assert chunk_sizes(server, RECEIVED) == [13]


def test_recorded_bytes_are_bounded_per_event(connected_pair):
    client = tap(connected_pair[0], "client", keep_bytes=10)
    client.sendall(b"x" * 5000)
    [event] = client.events
    assert event.size == 5000 and event.data == b"x" * 10 and event.truncated


def test_recv_into_records_bytes_not_buffer_items(connected_pair):
    client, server = connected_pair[0], tap(connected_pair[1], "server")
    client.sendall(b"abcdefgh")
    buffer = array.array("i", [0, 0, 0, 0])  # 4-byte items: 16 bytes of room
    received = server.recv_into(buffer)
    assert received == 8
    [event] = server.events
    assert (event.size, event.data) == (8, b"abcdefgh")


def test_other_attributes_reach_the_socket(connected_pair):
    client = tap(connected_pair[0])
    assert client.getsockname() == connected_pair[0].getsockname()
    assert client.fileno() == connected_pair[0].fileno()
    assert client.label.startswith("tap ")
    with client:
        pass
    assert connected_pair[0].fileno() == -1  # leaving the with block closed it


def test_threads_sharing_a_tap_lose_no_events(connected_pair):
    client, server = tap(connected_pair[0], "client"), connected_pair[1]
    threads_count, sends_each = 8, 200

    def send_ones():
        for _ in range(sends_each):
            client.send(b"1")

    threads = [threading.Thread(target=send_ones) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    client.shutdown(socket.SHUT_WR)
    assert len(receive_until_closed(server)) == threads_count * sends_each

    events = client.events
    assert len(events) == threads_count * sends_each
    assert [event.time for event in events] == sorted(event.time for event in events)
    events.clear()  # a snapshot: changing it leaves the tap alone
    assert len(client.events) == threads_count * sends_each


def test_summary_lists_every_call_and_the_totals(connected_pair):
    client, server = tap(connected_pair[0], "client"), tap(connected_pair[1], "server")
    client.sendall(b"ping")
    server.recv(100)
    text = format_events([client, server])
    assert "b'ping'" in text
    assert "client: sent 4 B in 1 call, received 0 B in 0 calls" in text
    assert "server: sent 0 B in 0 calls, received 4 B in 1 call" in text
    assert tap(socket.socket()).summary() == "(no events recorded)"


def test_chunk_sizes_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        chunk_sizes([], "sideways")


def test_timeline_plot_is_titled_and_labelled(connected_pair, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    client, server = tap(connected_pair[0], "client"), tap(connected_pair[1], "server")
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    server.recv(1024)
    server.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    client.recv(1024)

    figure = plot_timeline([client, server], title="One request, one response")
    ax = figure.axes[0]
    assert ax.get_title() == "One request, one response"
    assert "ms" in ax.get_xlabel() and ax.get_ylabel()
    assert [label.get_text() for label in ax.get_yticklabels()] == ["client", "server"]
    assert [text.get_text() for text in ax.get_legend().get_texts()][:2] == ["sent (one call)", "received (one call)"]
    figure.savefig(tmp_path / "timeline.png")
    plt.close(figure)


def test_timeline_accepts_events_and_a_given_axis(connected_pair):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    client = tap(connected_pair[0], "client")
    client.sendall(b"x")
    figure, ax = plt.subplots()
    assert plot_timeline(client.events, ax=ax, xlim=(0, 5)) is figure
    assert ax.get_xlim() == (0, 5)
    plt.close(figure)


def test_tap_is_not_a_socket_subclass():
    # ssl cannot wrap it; the docstring tells learners to tap the SSL socket instead
    assert not issubclass(Tap, socket.socket)
