"""Bytes sent as they are to the local stack's gateway, for what no HTTP client would send."""

from __future__ import annotations

import socket


def exchange(api_url: str, request: bytes, *, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` to the gateway at ``api_url`` and read until it closes: the answer's
    status, headers (lower-cased names) and body."""
    port = int(api_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body
