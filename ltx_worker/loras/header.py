"""A safetensors header read without trusting it: the first check an untrusted LoRA file meets.

A safetensors file (https://huggingface.co/docs/safetensors, "Format") is an 8-byte little-endian
header length N, N bytes of JSON (``{name: {"dtype", "shape", "data_offsets": [begin, end]}}``
plus an optional ``"__metadata__"`` of strings), then the tensors' bytes, offsets relative to
the end of the header. `read_header` parses it the way the ``safetensors`` library validates it
(``safetensors/src/tensor.rs``, ``Metadata::validate``: offsets contiguous from 0, each tensor's
byte length equal to its shape times its dtype's size, the last end equal to the data's length)
and refuses more than the library does: a header past `HEADER_MAX_BYTES`, duplicate names,
non-float tensors in a LoRA, and files that are something else (a pickle, a zip archive such as
a PyTorch ``.pt``, an image, GGUF), named as what they are. Nothing here unpickles, imports
torch or reads tensor data; reading the header is one ``read`` of at most N bytes.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

#: Bytes per element of each safetensors dtype (the format's list).
DTYPE_BYTES: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
}
#: The dtypes a LoRA's tensors may have: floats (factors, alphas, diffs) only.
LORA_DTYPES = frozenset({"F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F64"})
#: Largest header accepted (bytes). The safetensors library refuses above 100 MB; a LoRA's header
#: is tens of kilobytes (about 120 bytes per tensor: 2,000 tensors ~ 250 KB).
HEADER_MAX_BYTES = 16 << 20
#: Most tensors and most dimensions per tensor accepted.
MAX_TENSORS = 100_000
MAX_DIMS = 8

#: Leading bytes of files that are not safetensors, and what they are.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x80\x02", "a Python pickle"), (b"\x80\x03", "a Python pickle"), (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"), (b"PK\x03\x04", "a zip archive (a PyTorch .pt/.ckpt file)"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (WebP image or WAV audio)"), (b"GGUF", "a GGUF file"),
    (b"\x1f\x8b", "a gzip archive"), (b"<", "an HTML or XML page"),
)


class HeaderError(ValueError):
    """The file is not a well-formed safetensors file (the message says why, without the path)."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's entry: dtype, shape and byte range within the data section."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A checked safetensors header.

    Attributes:
        tensors: name -> `TensorInfo`.
        metadata: the ``__metadata__`` strings (empty when absent).
        header_bytes: N, the JSON's length.
        file_bytes: the file's size (8 + N + data).
    """

    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    header_bytes: int = 0
    file_bytes: int = 0


def what_it_is(first: bytes) -> str | None:
    """What a file starting with `first` (its first 16 bytes) is, when it is a known non-safetensors
    format; None otherwise."""
    for magic, name in _MAGIC:
        if first.startswith(magic):
            return name
    return None


def read_header(path: Path, *, max_header_bytes: int = HEADER_MAX_BYTES,
                dtypes: frozenset[str] | None = LORA_DTYPES) -> Header:
    """Read and check the safetensors header of `path` (see the module docstring).

    Args:
        path: the file.
        max_header_bytes: refuse a header longer than this (bytes).
        dtypes: the dtypes accepted (default: `LORA_DTYPES`); None accepts every safetensors dtype.

    Raises:
        HeaderError: anything wrong, said in one sentence (what the file is instead, the header
            length past the cap or the file, bad JSON, a bad entry naming the tensor, offsets
            with a hole, an overlap or past the end).
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        first = f.read(16)
        other = what_it_is(first)  # only said when the bytes do not read as safetensors
        if len(first) < 8:
            raise HeaderError(f"not a safetensors file: it is {other}" if other else
                              f"not a safetensors file: {size} bytes, shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", first[:8])
        if other and (length > max_header_bytes or 8 + length > size or first[8:9] != b"{"):
            raise HeaderError(f"not a safetensors file: it is {other}")
        if length > max_header_bytes:
            raise HeaderError(f"the safetensors header claims {length} bytes, more than the "
                              f"{max_header_bytes} accepted")
        if 8 + length > size:
            raise HeaderError(f"truncated: the header claims {length} bytes, the file has {size - 8} after "
                              "the length")
        f.seek(8)
        raw = f.read(length)
    return parse_header(raw, size, dtypes=dtypes)


def parse_header(raw: bytes, file_bytes: int, *, dtypes: frozenset[str] | None = LORA_DTYPES) -> Header:
    """Check the header JSON `raw` of a file of `file_bytes` bytes (`read_header` minus the I/O)."""
    if not raw.lstrip(b" ").startswith(b"{"):
        raise HeaderError("not a safetensors file: the header is not a JSON object")
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as err:
        raise HeaderError(f"the safetensors header is not valid JSON ({str(err)[:120]})") from None
    if not isinstance(doc, dict):
        raise HeaderError("the safetensors header is not a JSON object")
    metadata = doc.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise HeaderError("the safetensors __metadata__ is not a map of strings")
    if len(doc) > MAX_TENSORS:
        raise HeaderError(f"{len(doc)} tensors, more than the {MAX_TENSORS} accepted")
    tensors = {name: _entry(name, value, dtypes) for name, value in doc.items()}
    data_bytes = file_bytes - 8 - len(raw)
    expected = 0
    for name, info in sorted(tensors.items(), key=lambda item: (item[1].begin, item[1].end)):
        if info.begin != expected:
            what = "overlaps another" if info.begin < expected else "leaves a hole before it"
            raise HeaderError(f"tensor {name!r}: data_offsets {what} (begins at {info.begin}, expected {expected})")
        expected = info.end
    if expected != data_bytes:
        where = "past the end of the file" if expected > data_bytes else "short of the end of the file"
        raise HeaderError(f"the tensors' data ends {where} ({expected} bytes declared, {data_bytes} present)")
    return Header(tensors=tensors, metadata=dict(metadata), header_bytes=len(raw), file_bytes=file_bytes)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:80]!r}")
        out[key] = value
    return out


def _entry(name: str, value: object, dtypes: frozenset[str] | None) -> TensorInfo:
    short = name[:120]
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data_offsets"}:
        raise HeaderError(f"tensor {short!r}: an entry needs exactly dtype, shape and data_offsets")
    dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
    if dtype not in DTYPE_BYTES:
        raise HeaderError(f"tensor {short!r}: unknown dtype {str(dtype)[:20]!r}")
    if dtypes is not None and dtype not in dtypes:
        raise HeaderError(f"tensor {short!r}: dtype {dtype} is not a float type a LoRA holds")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise HeaderError(f"tensor {short!r}: shape must be a list of at most {MAX_DIMS} sizes >= 0")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]):
        raise HeaderError(f"tensor {short!r}: data_offsets must be [begin, end] with 0 <= begin <= end")
    nbytes = math.prod(shape) * DTYPE_BYTES[dtype]
    if offsets[1] - offsets[0] != nbytes:
        raise HeaderError(f"tensor {short!r}: {offsets[1] - offsets[0]} bytes for a {dtype} tensor of shape "
                          f"{shape}, which needs {nbytes}")
    return TensorInfo(dtype=dtype, shape=tuple(shape), begin=offsets[0], end=offsets[1])
