"""Small Arrow helpers shared by the bulk engine and the match keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def chunks_of(array: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return array.chunks if isinstance(array, pa.ChunkedArray) else [array]


def with_validity(array: pa.Array | pa.ChunkedArray, valid) -> pa.Array | pa.ChunkedArray:
    """``array`` (of a flat type: strings, integers) with the rows where ``valid`` is False made null (rows already null stay
    null), sharing the array's offsets and characters.

    Logically the same as ``pc.if_else(valid, array, null)``, but a column whose every
    value is either another column's value or null then costs a validity bitmap, not a
    copy of the column.  ``valid`` is a boolean NumPy array or Arrow array of the rows.
    """
    if not isinstance(valid, np.ndarray):
        valid = np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)
    if valid.all() and not array.null_count:
        return array
    out = []
    start = 0
    for chunk in chunks_of(array):
        keep = valid[start:start + len(chunk)]
        start += len(chunk)
        if chunk.null_count:
            keep = keep & chunk.is_valid().to_numpy(zero_copy_only=False)
        # The bitmap counts from the buffers' start: pad it by the chunk's offset.
        bits = np.packbits(np.concatenate([np.zeros(chunk.offset, dtype=bool), keep]), bitorder="little")
        buffers = chunk.buffers()
        buffers[0] = pa.py_buffer(bits)
        out.append(pa.Array.from_buffers(chunk.type, len(chunk), buffers, null_count=int(len(keep) - keep.sum()),
                                         offset=chunk.offset))
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array(out, type=array.type)
    return out[0]
