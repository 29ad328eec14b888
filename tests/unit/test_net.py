"""Where to reach a server, and whether a port can be bound."""

from __future__ import annotations

import socket

from berth.net import connect_host, port_free


def test_a_wildcard_bind_is_reached_on_loopback() -> None:
    assert connect_host("0.0.0.0") == "127.0.0.1"
    assert connect_host("::") == "127.0.0.1"
    assert connect_host("10.1.2.3") == "10.1.2.3"


def test_a_listening_port_is_not_free_and_a_released_one_is() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not port_free("127.0.0.1", port)
    assert port_free("127.0.0.1", port)
