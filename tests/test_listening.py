"""Binding before serving: a port in use is an exception to word, port 0 the port the system chose."""

import socket

import pytest

from edfs_mcp.listening import CannotListen, http_url, listening_socket


def test_a_port_in_use_is_cannot_listen_saying_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen) as caught:
            listening_socket("127.0.0.1", port)
    assert caught.value.in_use and caught.value.port == port
    assert str(caught.value) == f"cannot listen on 127.0.0.1:{port}: port {port} is in use"


def test_an_address_not_of_this_machine_is_cannot_listen_with_the_reason() -> None:
    with pytest.raises(CannotListen) as caught:
        listening_socket("192.0.2.1", 0)  # TEST-NET-1: never a local address
    assert not caught.value.in_use and str(caught.value).startswith("cannot listen on 192.0.2.1:0: ")


def test_port_0_listens_on_a_free_port_and_the_url_says_which() -> None:
    with listening_socket("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        assert port != 0 and http_url(listener, "/mcp") == f"http://127.0.0.1:{port}/mcp"
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # it listens


def test_an_ipv6_url_has_its_address_in_brackets() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        listener = listening_socket("::1", 0)
    except CannotListen:
        pytest.skip("no IPv6 loopback here")
    with listener:
        assert http_url(listener).startswith("http://[::1]:")
