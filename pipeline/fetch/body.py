"""Response bodies: Content-Encoding decoded in bounded steps, so caps apply to what we keep.

httpx inflates a whole network chunk at once: a 40 KiB gzip bomb became 40 MiB in memory before
any size cap could look at it. Here no decompression step yields more than ``DECODE_STEP``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from pipeline.errors import UnsupportedContentError

# We decode bodies ourselves, so we only announce what we can decode.
ACCEPT_ENCODING = "gzip, deflate"
DECODE_STEP = 64 * 1024  # most bytes one decompression step may produce


class BoundedDecoder:
    """Content-Encoding decoding that never inflates more than ``DECODE_STEP`` bytes at once."""

    def __init__(self, encoding: str) -> None:
        self._identity = encoding == "identity"
        self._deflate = encoding == "deflate"
        self._started = False
        wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of ``data``; raises zlib.error on a corrupt body."""
        if self._identity:
            yield data
            return
        try:
            piece = self._inflate.decompress(data, DECODE_STEP)
        except zlib.error:
            if not self._deflate or self._started:
                raise
            # "deflate" is sometimes sent as a raw stream without the zlib header (as httpx does).
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            piece = self._inflate.decompress(data, DECODE_STEP)
        self._started = True
        yield piece
        while self._inflate.unconsumed_tail:
            yield self._inflate.decompress(self._inflate.unconsumed_tail, DECODE_STEP)

    def rest(self) -> bytes:
        """What the decoder still holds once the input has ended."""
        return b"" if self._identity else self._inflate.flush()


def _content_encoding(url: str, response: httpx.Response) -> str:
    header = str(response.headers.get("Content-Encoding", ""))
    codings = [c.strip().lower() for c in header.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return "identity"
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return codings[0]
    raise UnsupportedContentError(
        f"content encoding {', '.join(codings)[:100]}", url=url, status=response.status_code
    )


def content_encoding(url: str, response: httpx.Response) -> str:
    """The one coding of a response we can decode, or raise UnsupportedContentError."""
    header = str(response.headers.get("Content-Encoding", ""))
    codings = [c.strip().lower() for c in header.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return "identity"
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return codings[0]
    raise UnsupportedContentError(
        f"content encoding {', '.join(codings)[:100]}", url=url, status=response.status_code
    )
