"""Class bitsets (Python ints, bit c for class c) and packed bit matrices over classes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy costs time to import: only the commands that need it do
    import numpy as np
    import numpy.typing as npt

_STRIPE = 256  # 8x8 blocks per stripe when transposing: 2048 rows at a time
_TRANSPOSE_MASKS = ((7, 0x00AA00AA00AA00AA), (14, 0x0000CCCC0000CCCC), (28, 0x00000000F0F0F0F0))


class ClassMatrix:
    """A packed bit matrix over classes: bit d of row s means class s may connect to class d.

    Rows are little-endian bit arrays (bit d is bit d % 8 of byte d // 8),
    the same layout as a Python int bitset's to_bytes(..., "little").
    """

    def __init__(self, packed: npt.NDArray[np.uint8], size: int) -> None:
        self.packed = packed
        self.size = size

    def allowed(self, src: int, dst: int) -> bool:
        return bool((int(self.packed[src, dst >> 3]) >> (dst & 7)) & 1)

    def row(self, src: int) -> int:
        """Row src as a Python int bitset."""
        return int.from_bytes(self.packed[src].tobytes(), "little")

    def count(self) -> int:
        """Allowed ordered class pairs."""
        import numpy as np

        return int(np.bitwise_count(self.packed).sum(dtype=np.int64))


def transpose(packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Transpose a square bit matrix packed little-endian along rows (8w rows of w bytes).

    Each 8x8 bit block is one 64-bit word, transposed in three mask-and-shift
    steps (Hacker's Delight 7-3) for whole stripes of blocks at once, then
    written to the mirrored block position.
    """
    import numpy as np

    steps = tuple((np.uint64(shift), np.uint64(mask)) for shift, mask in _TRANSPOSE_MASKS)
    w = packed.shape[1]
    out = np.empty_like(packed)
    for i0 in range(0, w, _STRIPE):
        i1 = min(w, i0 + _STRIPE)
        c = i1 - i0
        x = packed[8 * i0:8 * i1].reshape(c, 8, w).transpose(0, 2, 1).copy().view("<u8").reshape(c, w)
        for shift, mask in steps:
            t = (x ^ (x >> shift)) & mask
            x ^= t ^ (t << shift)
        out[:, i0:i1] = x.T.copy().view(np.uint8).reshape(w, c, 8).transpose(0, 2, 1).reshape(8 * w, c)
    return out


def low_bits(value: int) -> Iterator[int]:
    """The set bits of a bitset, ascending, a low bit at a time: for small sets, or the first few."""
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low


def bit_mask(value: int, size: int) -> npt.NDArray[np.bool_]:
    """A class bitset as a boolean array of `size` entries."""
    import numpy as np

    packed = np.frombuffer(value.to_bytes(size // 8 + 1, "little"), np.uint8)
    mask: npt.NDArray[np.bool_] = np.unpackbits(packed, bitorder="little")[:size].astype(bool)
    return mask


def mask_bits(mask: npt.NDArray[np.bool_]) -> int:
    """A boolean array as a class bitset (the inverse of bit_mask)."""
    import numpy as np

    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def id_bits(ids: Sequence[int], size: int) -> int:
    """The bitset of some class ids at once: OR-ing 1 << id one at a time costs O(size) per id."""
    import numpy as np

    mask = np.zeros(size, dtype=bool)
    mask[np.asarray(ids, dtype=np.int64)] = True
    return mask_bits(mask)


def bit_ids(value: int) -> list[int]:
    """The set bits of a bitset, ascending. Scanning a low bit at a time costs O(size) per bit on a
    50k-bit set, so large sets are unpacked with numpy instead."""
    if value.bit_count() <= 64:
        return list(low_bits(value))
    import numpy as np

    ids: list[int] = np.flatnonzero(bit_mask(value, value.bit_length())).tolist()
    return ids


def or_bits(values: Iterable[int]) -> int:
    """The union of class bitsets."""
    out = 0
    for v in values:
        out |= v
    return out
