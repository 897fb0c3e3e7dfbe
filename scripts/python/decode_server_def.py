#!/usr/bin/env python3
"""Decodes serialized tensorflow.ServerDef bytes (stdin) with TensorFlow's own schema.

  .venv/bin/python scripts/python/decode_server_def.py <libtensorflow_framework.so.2> [<more .so> ...] < server_def.bin

TensorFlow Python is not needed: the compiled-in FileDescriptorProtos of
tensorflow_server.proto and everything it imports are read out of the shared libraries the
binding loads (they are stored as serialized FileDescriptorProto bytes, each starting with field 1,
the file name). The message is printed in protobuf text format on one line. Exit 0 on success,
1 when a descriptor is not found or the bytes do not parse, 2 on bad arguments.
"""
from __future__ import annotations

import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format


def _varint(data: bytes, p: int) -> tuple[int, int]:
    r = s = 0
    while True:
        b = data[p]
        p += 1
        r |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return r, p


def _end_of_descriptor(data: bytes, start: int) -> int:
    """Walks top-level fields (numbers 1..20, varint or length-delimited) from start; returns where they stop."""
    pos = start
    while pos < len(data):
        tag, p = _varint(data, pos)
        field, wire = tag >> 3, tag & 7
        if not 1 <= field <= 20:
            break
        if wire == 2:
            n, p = _varint(data, p)
            p += n
        elif wire == 0:
            _, p = _varint(data, p)
        else:
            break
        if p > len(data):
            break
        pos = p
    return pos


def find_descriptor(blobs: list[bytes], name: str) -> descriptor_pb2.FileDescriptorProto:
    key = name.encode()
    prefix = b"\x0a" + bytes([len(key)]) + key
    for data in blobs:
        i = data.find(prefix)
        while i >= 0:
            fd = descriptor_pb2.FileDescriptorProto()
            try:
                fd.ParseFromString(data[i:_end_of_descriptor(data, i)])
                if fd.name == name and (fd.message_type or fd.dependency or fd.enum_type):
                    return fd
            except Exception:  # noqa: BLE001 - a false match of the prefix; keep looking
                pass
            i = data.find(prefix, i + 1)
    raise LookupError(f"descriptor of {name} not found in the given libraries")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        blobs = [open(p, "rb").read() for p in argv]
    except OSError as e:
        print(f"cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        fd = find_descriptor(blobs, name)
        for dep in fd.dependency:
            add(dep)
        pool.Add(fd)
        added.add(name)

    try:
        add("tensorflow/core/protobuf/tensorflow_server.proto")
        cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.ServerDef"))
        msg = cls()
        msg.ParseFromString(sys.stdin.buffer.read())
    except Exception as e:  # noqa: BLE001
        print(f"cannot decode: {e}", file=sys.stderr)
        return 1
    print(text_format.MessageToString(msg, as_one_line=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
