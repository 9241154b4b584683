"""A strict reader of the IDX format (LeCun's MNIST files, and Fashion-MNIST's): a big-endian header
``0x00 0x00 <dtype> <ndim>``, then ``ndim`` big-endian uint32 sizes, then exactly the product of the
sizes in items of that dtype. Only the unsigned-byte type (0x08) is accepted (the only one MNIST-like
files use); the dimensions are checked against what the caller expects and bounded, and the payload
must be exactly as long as the header says. Nothing is unpickled or evaluated."""

from __future__ import annotations

import numpy as np

from ohgw_bench.tasks.data.store import DataError

UBYTE = 0x08
MAX_ITEMS = 1_000_000  # far above the 70,000 of any MNIST-like file


def parse_idx(raw: bytes, name: str, ndim: int, item_shape: tuple[int, ...] = ()) -> np.ndarray:
    """The uint8 array of an (uncompressed) IDX file with ``ndim`` dimensions, the trailing ones equal to
    ``item_shape``; a :class:`DataError` naming ``name`` and the fault otherwise."""

    def bad(why: str) -> DataError:
        return DataError(f"{name}: not a valid IDX file (format error: {why}); the file is corrupt or truncated")

    if len(raw) < 4:
        raise bad(f"{len(raw)} bytes, shorter than the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise bad(f"magic number {raw[:4].hex()} does not start with two zero bytes")
    if raw[2] != UBYTE:
        raise bad(f"data type 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    if raw[3] != ndim:
        raise bad(f"{raw[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise bad(f"{len(raw)} bytes, shorter than its {header}-byte header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims[1:] != tuple(item_shape):
        raise bad(f"item shape {dims[1:]}, expected {tuple(item_shape)}")
    if not 0 < dims[0] <= MAX_ITEMS:
        raise bad(f"{dims[0]} items, expected 1 to {MAX_ITEMS:,}")
    size = int(np.prod(dims))
    if len(raw) != header + size:
        raise bad(f"{len(raw) - header} payload bytes, the header says {size}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def write_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array (for tests and fixtures: the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return bytes([0, 0, UBYTE, array.ndim]) + dims + array.tobytes()
