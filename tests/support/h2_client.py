"""A WebSocket client over HTTP/2 (RFC 8441): one extended CONNECT on a TLS connection that negotiated h2.

What a browser does when the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL: the handshake is a HEADERS
frame (`:method CONNECT`, `:protocol websocket`), the answer a `:status` (200 accepts; anything else refuses, with
its headers and a body in DATA frames), and the socket's frames travel in DATA frames of that stream.
"""

import os
import socket
import ssl
import struct
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.settings


@dataclass
class H2Answer:
    """What the server answered an extended CONNECT: its status, headers and body; after a 200, the text
    messages it sent and its close frame's code and reason (None when the stream ended without one)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    texts: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""


def extended_connect(
    port: int,
    path: str,
    certificate: Path,
    *,
    headers: dict[str, str] | None = None,
    send_texts: tuple[str, ...] = (),
    timeout: float = 10.0,
) -> H2Answer:
    """Open `path` as a WebSocket over h2 on 127.0.0.1:`port`, trusting `certificate`; send `send_texts` once
    accepted; read until the server closes the socket or ends the stream."""
    context = ssl.create_default_context(cafile=str(certificate))
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        assert sock.selected_alpn_protocol() == "h2", "the server did not negotiate HTTP/2"
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        connection.initiate_connection()
        sock.sendall(connection.data_to_send())
        _until_settings(sock, connection)
        stream = connection.get_next_available_stream_id()
        request = [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", path),
            (":authority", f"127.0.0.1:{port}"),
            ("sec-websocket-version", "13"),
            *(headers or {}).items(),
        ]
        connection.send_headers(stream, request)
        sock.sendall(connection.data_to_send())
        return _read_answer(sock, connection, stream, send_texts)


def _until_settings(sock: ssl.SSLSocket, connection: h2.connection.H2Connection) -> None:
    while True:
        events = connection.receive_data(_recv(sock))
        sock.sendall(connection.data_to_send())
        if any(isinstance(event, h2.events.RemoteSettingsChanged) for event in events):
            enabled = connection.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
            assert enabled == 1, "the server does not advertise extended CONNECT (RFC 8441)"
            return


def _read_answer(
    sock: ssl.SSLSocket, connection: h2.connection.H2Connection, stream: int, send_texts: tuple[str, ...]
) -> H2Answer:
    answer: H2Answer | None = None
    data = b""
    while True:
        for event in connection.receive_data(_recv(sock)):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                received = {str(name): str(value) for name, value in event.headers}
                answer = H2Answer(int(received.pop(":status")), received)
                if answer.status == 200:
                    for text in send_texts:
                        connection.send_data(stream, _masked(0x1, text.encode()))
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                connection.acknowledge_received_data(event.flow_controlled_length, stream)
                data += event.data
                if answer is not None and answer.status == 200:
                    data = _frames(answer, data)
                    if answer.close_code is not None:
                        sock.sendall(connection.data_to_send())
                        return answer
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) and event.stream_id == stream:
                assert answer is not None, f"the stream ended without an answer: {event}"
                if answer.status != 200:
                    answer.body = data
                return answer
        sock.sendall(connection.data_to_send())


def _recv(sock: ssl.SSLSocket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


def _frames(answer: H2Answer, data: bytes) -> bytes:
    """Take the complete websocket frames (unmasked, unfragmented: a server's) off `data`; return the rest."""
    while len(data) >= 2:
        opcode, length, offset = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                break
            (length,), offset = struct.unpack("!H", data[2:4]), 4
        if len(data) < offset + length:
            break
        payload, data = data[offset : offset + length], data[offset + length :]
        if opcode == 0x1:
            answer.texts.append(payload.decode())
        elif opcode == 0x8:
            answer.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            answer.close_reason = payload[2:].decode()
    return data


def _masked(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
