"""`dock2uni run`'s network options: -p parsing, host ports chosen and checked against real
sockets, -P from the image's EXPOSE, and the exact QEMU arguments and kernel words."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from dock2uni.errors import RunError
from dock2uni.network import (
    NetUsageError,
    Network,
    PortSpec,
    Published,
    make_network,
    parse_add_host,
    parse_port,
)
from dock2uni.publish import resolve
from dock2uni.run import RunOptions, kernel_cmdline, qemu_argv


def net(**kw: object) -> Network:
    args: dict[str, object] = {
        "mode": None,
        "publish": [],
        "publish_all": False,
        "hostname": None,
        "dns": [],
        "add_hosts": [],
    }
    args.update(kw)
    return make_network(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "specs"),
    [
        ("8080:80", [PortSpec("", 8080, 80, "tcp")]),
        ("80", [PortSpec("", None, 80, "tcp")]),
        ("53/udp", [PortSpec("", None, 53, "udp")]),
        ("127.0.0.1:8080:80/tcp", [PortSpec("127.0.0.1", 8080, 80, "tcp")]),
        ("127.0.0.1::80", [PortSpec("127.0.0.1", None, 80, "tcp")]),
        ("0.0.0.0:8080:80", [PortSpec("", 8080, 80, "tcp")]),
        ("5353:53/UDP", [PortSpec("", 5353, 53, "udp")]),
        ("8000-8001:80-81", [PortSpec("", 8000, 80, "tcp"), PortSpec("", 8001, 81, "tcp")]),
        ("80-81", [PortSpec("", None, 80, "tcp"), PortSpec("", None, 81, "tcp")]),
    ],
)
def test_publish_takes_what_docker_run_p_takes(text: str, specs: list[PortSpec]) -> None:
    assert parse_port(text) == specs


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("80/sctp", "not tcp or udp"),
        ("0:80", "ports are 1-65535"),
        ("8080:65536", "ports are 1-65535"),
        ("http:80", "is not a port"),
        ("8080:", "is not a port"),
        ("localhost:8080:80", "not an IPv4 address"),
        ("[::1]:8080:80", "IPv4 only"),
        ("::1:8080:80", "IPv4 only"),
        ("8000-8002:80-81", "host range has 3 ports"),
        ("90-80", "ports are 1-65535"),
    ],
)
def test_bad_publish_values_are_usage_errors(text: str, says: str) -> None:
    with pytest.raises(NetUsageError, match=says) as err:
        parse_port(text)
    assert err.value.option == "--publish"


def test_network_defaults_to_user_only_when_ports_are_published() -> None:
    assert net().mode == "none"
    assert net(publish=["80"]).mode == "user"
    assert net(publish_all=True).mode == "user"
    assert net(mode="user").mode == "user"


@pytest.mark.parametrize(
    ("kw", "option", "says"),
    [
        ({"mode": "host"}, "--network", "none .*or user"),
        ({"mode": "bridge"}, "--network", "none .*or user"),
        ({"mode": "none", "publish": ["80"]}, "--network", "without a network"),
        ({"mode": "none", "publish_all": True}, "--network", "without a network"),
        ({"hostname": "-bad"}, "--hostname", "not a valid host name"),
        ({"hostname": "a" * 65}, "--hostname", "not a valid host name"),
        ({"hostname": "a b"}, "--hostname", "not a valid host name"),
        ({"dns": ["8.8.8"]}, "--dns", "not an IP address"),
        ({"add_hosts": ["db"]}, "--add-host", "expected NAME:IP"),
        ({"add_hosts": ["db:1.2.3"]}, "--add-host", "not an IP address"),
        ({"add_hosts": ["b_d:1.2.3.4"]}, "--add-host", "not a valid host name"),
    ],
)
def test_bad_network_options_name_their_option(
    kw: dict[str, object], option: str, says: str
) -> None:
    with pytest.raises(NetUsageError, match=says) as err:
        net(**kw)
    assert err.value.option == option


def test_add_host_spellings() -> None:
    assert parse_add_host("db:10.1.2.3") == ("db", "10.1.2.3")
    assert parse_add_host("db=10.1.2.3") == ("db", "10.1.2.3")
    assert parse_add_host("gw:host-gateway") == ("gw", "10.0.2.2")
    assert parse_add_host("v6:::1") == ("v6", "::1")
    assert parse_add_host("v6=[fe80::1]") == ("v6", "fe80::1")


def test_default_hostname_is_a_fresh_short_id() -> None:
    first, second = net().hostname, net().hostname
    assert first is not None and second is not None
    assert len(first) == 12 and int(first, 16) >= 0 and first != second


def test_user_network_kernel_words_follow_the_contract() -> None:
    """The words helper "net" reads (COMMON.md; docs/console-protocol.md)."""
    network = net(mode="user", hostname="web1", add_hosts=["db:10.0.2.2", "v6:::1"])
    assert network.kernel_words() == [
        "d2u.net=user",
        "d2u.ip=10.0.2.15/24",
        "d2u.gw=10.0.2.2",
        "d2u.dns=10.0.2.3",
        "d2u.host=db:10.0.2.2",
        "d2u.host=v6:::1",
        "d2u.hostname=web1",
    ]
    dns = net(mode="user", hostname="x", dns=["1.1.1.1", "9.9.9.9"]).kernel_words()
    assert [w for w in dns if w.startswith("d2u.dns=")] == ["d2u.dns=1.1.1.1", "d2u.dns=9.9.9.9"]


def test_no_network_has_no_nic_and_says_so() -> None:
    network = net(hostname="box")
    assert network.kernel_words() == ["d2u.net=none", "d2u.hostname=box"]
    assert network.qemu_args() == []
    # Library callers (tests, benchmarks) get no NIC and keep the image's /etc.
    assert Network().kernel_words() == []
    assert Network().qemu_args() == []


def test_qemu_arguments_of_the_user_network() -> None:
    """tcp: QEMU listens on a private loopback port we forward to; udp: on the port itself."""
    network = Network(
        mode="user",
        published=(
            Published("", 8080, 80, "tcp", internal_port=40001, ipv6=True),
            Published("127.0.0.1", 5353, 53, "udp"),
        ),
    )
    assert network.qemu_args() == [
        "-netdev",
        "user,id=n0,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,"
        "hostfwd=tcp:127.0.0.1:40001-10.0.2.15:80,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53",
        "-device",
        "virtio-net-device,netdev=n0",
        "-global",
        "virtio-mmio.force-legacy=false",
    ]
    assert network.published[0].docker_port_lines() == [
        "80/tcp -> 0.0.0.0:8080",
        "80/tcp -> [::]:8080",
    ]
    assert network.published[1].docker_port_lines() == ["53/udp -> 127.0.0.1:5353"]


def test_the_launcher_puts_the_nic_and_the_words_on_its_command_lines(tmp_path: object) -> None:
    network = Network(mode="user", hostname="h", published=(Published("", 8080, 80, "udp"),))
    options = RunOptions(network=network)
    cmdline = kernel_cmdline(options)
    assert cmdline.endswith(
        " d2u.net=user d2u.ip=10.0.2.15/24 d2u.gw=10.0.2.2 d2u.dns=10.0.2.3 d2u.hostname=h"
    )
    argv = qemu_argv(
        tmp_path,  # type: ignore[arg-type]
        accel="tcg",
        mem=64 << 20,
        log_socket=tmp_path,  # type: ignore[arg-type]
        cmdline=cmdline,
        initrd=None,
        network_args=network.qemu_args(),
    )
    assert argv[argv.index("-append") + 1] == cmdline
    assert argv[-6:] == network.qemu_args()


@pytest.fixture
def held_tcp() -> Iterator[int]:
    """A port really in use: a listening socket on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_in_use_is_refused_before_qemu_starts(held_tcp: int) -> None:
    network = net(publish=[f"{held_tcp}:80"])
    with pytest.raises(RunError, match=f"host port 0.0.0.0:{held_tcp}/tcp is already in use") as e:
        resolve(network, {})
    assert e.value.exit_code == 125
    assert f"sport = :{held_tcp}" in (e.value.hint or "")
    # The same port on the loopback address only conflicts too.
    with pytest.raises(RunError, match="already in use"):
        resolve(net(publish=[f"127.0.0.1:{held_tcp}:80"]), {})
    # udp is another port space: free.
    resolved, reservation, _ = resolve(net(publish=[f"{held_tcp}:53/udp"]), {})
    reservation.close()
    assert resolved.published == (Published("", held_tcp, 53, "udp"),)


def test_a_port_in_use_in_ipv6_only_is_in_use() -> None:
    """Published on every address means [::] too, as Docker binds it."""
    with socket.socket(socket.AF_INET6) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::", 0))
        sock.listen()
        port = int(sock.getsockname()[1])
        with pytest.raises(RunError, match=rf"host port \[::\]:{port}/tcp is already in use"):
            resolve(net(publish=[f"{port}:80"]), {})
        # On one IPv4 address only, [::] is not wanted.
        resolved, reservation, _ = resolve(net(publish=[f"127.0.0.1:{port}:80"]), {})
        reservation.close()
        assert not resolved.published[0].ipv6


def test_a_udp_port_in_use_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        port = int(sock.getsockname()[1])
        with pytest.raises(RunError, match=f"{port}/udp is already in use"):
            resolve(net(publish=[f"{port}:53/udp"]), {})


def test_free_ports_are_chosen_and_held_until_released() -> None:
    network = net(publish=["80", "127.0.0.1::81", "53/udp"])
    resolved, reservation, _ = resolve(network, {})
    try:
        ports = resolved.published
        assert [(p.host_ip, p.guest_port, p.proto) for p in ports] == [
            ("", 80, "tcp"),
            ("127.0.0.1", 81, "tcp"),
            ("", 53, "udp"),
        ]
        assert all(1024 <= p.host_port <= 65535 for p in ports)
        assert ports[0].ipv6 and not ports[1].ipv6 and not ports[2].ipv6
        # tcp: a private loopback port for QEMU's hostfwd, and the listeners we serve.
        assert ports[0].internal_port and ports[1].internal_port and not ports[2].internal_port
        assert len(reservation.routes) == 3  # 0.0.0.0 and [::] for 80, 127.0.0.1 for 81
        # Held: nobody else can take them until QEMU is about to.
        for port in (ports[0].host_port, ports[0].internal_port):
            with socket.socket() as other, pytest.raises(OSError):
                other.bind(("0.0.0.0", port))
        reservation.release()  # what QEMU binds is free, the tcp listeners stay ours
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("0.0.0.0", ports[0].host_port))
        with socket.socket() as other:
            other.bind(("127.0.0.1", ports[0].internal_port))
    finally:
        reservation.close()
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("0.0.0.0", ports[0].host_port))


def test_a_host_port_published_twice_is_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with pytest.raises(RunError, match="published twice"):
        resolve(net(publish=[f"{port}:80", f"{port}:81"]), {})


def test_publish_all_publishes_the_exposed_ports_not_yet_published() -> None:
    meta = {"exposed_ports": ["80/tcp", "443/tcp", "53/udp", "9/sctp"]}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    resolved, reservation, skipped = resolve(net(publish=[f"{port}:80"], publish_all=True), meta)
    reservation.close()
    ports = resolved.published
    assert (ports[0].host_port, ports[0].guest_port) == (port, 80)  # -p wins for 80
    assert [(p.guest_port, p.proto) for p in ports[1:]] == [(443, "tcp"), (53, "udp")]
    assert skipped == ["9/sctp"]


def test_publish_all_of_an_image_without_the_record_says_convert_again() -> None:
    with pytest.raises(RunError, match="does not record its exposed ports") as err:
        resolve(net(publish_all=True), {"argv": ["/x"]})
    assert "convert it again" in (err.value.hint or "")


def test_no_network_publishes_nothing() -> None:
    resolved, reservation, skipped = resolve(net(), {"exposed_ports": ["80/tcp"]})
    assert resolved.published == () and reservation.sockets == [] and skipped == []
    assert reservation.routes == []
