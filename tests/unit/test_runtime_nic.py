"""The OCI runtime's guest NIC (runtime/nic.py) without an engine: name servers as Docker
fills a default-bridge container's resolv.conf, the kernel words and QEMU's netdev, and
no NIC at all in the host's namespace. The wiring itself is tested with the real Docker
daemon (tests/integration/test_oci_runtime_docker.py)."""

from __future__ import annotations

from pathlib import Path

from dock2uni.runtime import nic


def test_name_servers_skip_loopback_and_ipv6(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# comment\nnameserver 127.0.0.53\nnameserver 10.1.2.3\nnameserver ::1\n"
        "nameserver fd00::1\nnameserver bogus\nsearch example\nnameserver 192.0.2.53\n"
    )
    assert nic.name_servers(conf) == ("10.1.2.3", "192.0.2.53")


def test_only_loopback_name_servers_fall_back_as_docker_does(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.11\n")
    assert nic.name_servers(conf) == nic.DEFAULT_DNS
    assert nic.name_servers(tmp_path / "missing") == nic.DEFAULT_DNS


def test_the_guest_gets_the_containers_address_and_mac() -> None:
    n = nic.Nic(
        device="eth0", mac="02:42:ac:11:00:02", address="172.17.0.2/16",
        gateway="172.17.0.1", mtu=1500, dns=("10.0.0.2",),
    )  # fmt: skip
    assert n.kernel_words() == [
        "d2u.net=user", "d2u.ip=172.17.0.2/16", "d2u.gw=172.17.0.1", "d2u.dns=10.0.0.2",
    ]  # fmt: skip
    args = n.qemu_args(7)
    assert args[args.index("-netdev") + 1] == "tap,id=n0,fd=7"
    assert args[args.index("-device") + 1] == "virtio-net-device,netdev=n0,mac=02:42:ac:11:00:02"


def test_no_nic_in_the_hosts_namespace() -> None:
    """No network namespace of its own (docker run --network host): nothing is touched."""
    assert nic.wire({"pid": None, "mount": None}) is None
