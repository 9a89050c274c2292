"""Recognise an out-of-memory failure in a server's error text (torch, CUDA, the caching allocator)."""

from __future__ import annotations

import re

# torch: "CUDA out of memory. Tried to allocate ..." / OutOfMemoryError; cuBLAS/cuDNN allocation failures;
# HIP and MPS say it their way. Matched case-insensitively anywhere in the message.
_OOM = re.compile(
    r"out of memory|outofmemoryerror|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED|"
    r"cudaErrorMemoryAllocation|MPS backend out of memory|HIP out of memory",
    re.IGNORECASE,
)


def is_out_of_memory(text: str | None) -> bool:
    """True when ``text`` (a task's error, an exception message) says the GPU ran out of memory."""
    return bool(text) and bool(_OOM.search(text))
