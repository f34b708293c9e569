#!/usr/bin/env python3
"""Open N keep-alive connections to the gateway (one GET /healthz each, then idle) and print the
gateway's VmRSS (kB) while they are open: `conns.py PID HOST PORT N [tls]`."""

import socket
import ssl
import sys
import time


def vm(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def main():
    pid, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    use_tls = len(sys.argv) > 5 and sys.argv[5] == "tls"
    context = ssl._create_unverified_context() if use_tls else None
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    sockets, failed = [], 0
    for _ in range(count):
        try:
            sock = socket.create_connection((host, port), timeout=5)
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname=host)
            sock.sendall(request)
            if not sock.recv(4096).startswith(b"HTTP/1.1 200"):
                failed += 1
            sockets.append(sock)
        except OSError:
            failed += 1
    time.sleep(1.0)
    print(f"{vm(pid, 'VmRSS')} {len(sockets) - failed} {failed}")
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
