"""HTTP/1.1 by hand over a raw socket, for requests no client library would send (smuggling
attempts, made-up methods, lying lengths, trickled heads) and for reading exactly what the
server answered: every response on the connection, and whether it closed the connection."""

import socket
import time


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # {lower-case name: value}, the last one wins
        self.body = body

    def __repr__(self):
        return f"<{self.status} {len(self.body)} bytes>"


def connect(port, timeout=10.0, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # Before connect: the window the server sees is then small from the start.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def read_all(sock, quiet=2.0, limit=1 << 20, deadline=10.0):
    """Bytes until the server closes, `quiet` seconds pass without data, `limit` bytes or
    `deadline` seconds; (data, closed_by_server)."""
    data = bytearray()
    end = time.monotonic() + deadline
    while len(data) < limit:
        remaining = end - time.monotonic()
        if remaining <= 0:
            return bytes(data), False
        sock.settimeout(min(quiet, remaining))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return bytes(data), False
        except OSError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def parse_responses(data):
    """Every complete response in `data` (Content-Length, chunked, or no body for 1xx/204/304;
    a response without a length takes the rest). Stops at the first incomplete one."""
    responses = []
    position = 0
    while position < len(data):
        end = data.find(b"\r\n\r\n", position)
        if end == -1:
            break
        head = data[position:end].decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            break
        status = int(parts[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body_start = end + 4
        if status < 200 or status in (204, 304):
            body, position = b"", body_start
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body, position = _dechunk(data, body_start)
            if body is None:
                break
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if body_start + length > len(data):
                break
            body, position = data[body_start:body_start + length], body_start + length
        else:
            body, position = data[body_start:], len(data)
        responses.append(Response(status, headers, bytes(body)))
    return responses


def _dechunk(data, position):
    body = bytearray()
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end == -1:
            return None, position
        size = int(data[position:line_end].split(b";")[0] or b"0", 16)
        position = line_end + 2
        if size == 0:
            trailer_end = data.find(b"\r\n", position)
            if trailer_end == -1:
                return None, position
            return body, trailer_end + 2
        if position + size + 2 > len(data):
            return None, position
        body += data[position:position + size]
        position += size + 2


def exchange(port, raw, quiet=2.0, deadline=10.0, timeout=10.0):
    """Sends `raw` on a new connection and reads until the server closes or goes quiet;
    (responses, closed_by_server)."""
    with connect(port, timeout) as sock:
        sock.sendall(raw)
        data, closed = read_all(sock, quiet=quiet, deadline=deadline)
    return parse_responses(data), closed


def request_head(method, path, headers=(), version="HTTP/1.1"):
    lines = [f"{method} {path} {version}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)
