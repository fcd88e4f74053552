"""`create --console-socket`: a pty whose master goes to the engine, whose slave is init's stdio.

One message on the AF_UNIX stream socket: the pty's name as data and exactly one
SCM_RIGHTS fd, the master (what go-runc's console receiver accepts, runc's
libcontainer/utils/cmsg.go); no reply is read.
"""

from __future__ import annotations

import array
import os
import socket

from dock2uni.runtime.errors import OciError


def send_master(socket_path: str) -> int:
    """Open a pty, send its master to ``socket_path``; return the slave fd (ours to close)."""
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            fds = array.array("i", [master])
            sock.sendmsg([name.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
    except OSError as exc:
        os.close(slave)
        raise OciError(f"cannot send the console to {socket_path}: {exc.strerror or exc}") from None
    finally:
        os.close(master)
    return slave
