#!/usr/bin/env python3
"""A stand-in for vfiod that serves what `vfioctl exec` calls, for tests/cli/exec.sh: the
daemon's AttachDevice needs a kernel with the vfio cdev, which the unit tests do not have.

    fake-vfiod.py SOCKET DIR [BUSY_ADDRESS]

AttachDevice passes DIR/device-ADDRESS as the device's fd and, for a call without iommuFd,
DIR/iommufd as the VM's iommufd; a call with iommuFd must pass that same file, or gets
io.vfiod.NotAnIommufd. BUSY_ADDRESS is answered io.vfiod.DeviceBusy. Detach answers {}.
Every connection, call and close is logged to DIR/calls.log, one line each."""

import json
import os
import socket
import sys

MAX_FDS = 16


def log(directory, line):
    with open(os.path.join(directory, "calls.log"), "a") as f:
        f.write(line + "\n")


def attachment(number, address):
    return {"id": number, "address": address, "group": number, "vm": 1, "pid": 0, "uid": 0,
            "since": "2026-12-01T00:00:00Z", "deviceOpen": True, "mode": "cdev"}


def same_file(fd, path):
    a, b = os.fstat(fd), os.stat(path)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class Connection:
    def __init__(self, sock, directory, busy):
        self.sock, self.directory, self.busy = sock, directory, busy
        self.attached = 0

    def reply(self, parameters, fds=()):
        data = json.dumps({"parameters": parameters}).encode() + b"\0"
        socket.send_fds(self.sock, [data], list(fds))

    def error(self, name, parameters):
        self.sock.sendall(json.dumps({"error": name, "parameters": parameters}).encode() + b"\0")

    def attach_device(self, parameters, fds):
        address = parameters["address"]
        iommufd = os.path.join(self.directory, "iommufd")
        passed = "iommuFd" in parameters
        log(self.directory, "AttachDevice %s %s" % (address, "passed" if passed else "new"))
        if address == self.busy:
            return self.error("io.vfiod.DeviceBusy", {"address": address, "attachment": 99})
        if passed and not same_file(fds[parameters["iommuFd"]], iommufd):
            return self.error("io.vfiod.NotAnIommufd", {})
        self.attached += 1
        device = os.open(os.path.join(self.directory, "device-" + address), os.O_RDWR | os.O_CREAT, 0o600)
        out = [device] if passed else [device, os.open(iommufd, os.O_RDWR | os.O_CREAT, 0o600)]
        result = {"attachment": attachment(self.attached, address), "deviceFd": 0}
        if not passed:
            result["iommuFd"] = 1
        self.reply(result, out)
        for fd in out:
            os.close(fd)

    def serve(self):
        log(self.directory, "connected")
        while True:
            data, fds, _, _ = socket.recv_fds(self.sock, 65536, MAX_FDS)
            if not data:
                break
            call = json.loads(data.rstrip(b"\0"))
            method, parameters = call["method"], call.get("parameters", {})
            if method == "io.vfiod.AttachDevice":
                self.attach_device(parameters, fds)
            elif method == "io.vfiod.Detach":
                log(self.directory, "Detach %d" % parameters["id"])
                self.reply({})
            else:
                self.error("org.varlink.service.MethodNotFound", {"method": method})
            for fd in fds:
                os.close(fd)
        log(self.directory, "closed")


def main():
    path, directory = sys.argv[1], sys.argv[2]
    busy = sys.argv[3] if len(sys.argv) > 3 else None
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    while True:
        sock, _ = server.accept()
        with sock:
            Connection(sock, directory, busy).serve()


main()
