#!/usr/bin/env python3
"""Receives UDP datagrams on 127.0.0.1:PORT and writes them framed as RFC 4571 (a 16-bit
length before each) to FILE, until none came for a second after the first.
Usage: udp_capture.py PORT FILE"""
import socket
import sys

port, path = int(sys.argv[1]), sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", port))
sock.settimeout(10)
with open(path, "wb") as out:
    while True:
        try:
            data = sock.recv(65535)
        except socket.timeout:
            break
        out.write(len(data).to_bytes(2, "big") + data)
        sock.settimeout(1)
