"""What a PNG or JPEG file costs to read, counted from its bytes before Pillow opens it.

The pixel budget bounds the work of decoding pixels, not of reading a file's structure:

- Pillow walks a PNG's chunks, and a JPEG's markers up to its first scan, one at a time in Python:
  a small file of nothing else held the event loop many times longer than a drawing;
- libjpeg makes a pass over every block of the image for each scan of a progressive JPEG, and a scan
  can be 19 bytes: a small file of many scans took far longer to decode than its pixels say.

Encoders write far fewer: libpng and the browsers' canvases write image data in chunks of 8 KiB or
more (about 130 in a 1 MiB PNG) beside a few metadata chunks; a JPEG has a few dozen markers before
its first scan (an ICC profile adds one a 64 KiB) and 1 scan (baseline) to about 10 (libjpeg's
progressive script). Past the limits below a file is refused (what such files cost: docs/security.md,
"Probes added in issue 21"); the pieces are counted over all of a request's images, since several
small files are read on the event loop as one.
"""

from __future__ import annotations

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
MAX_PIECES = 1024  # PNG chunks, or JPEG markers and stray bytes before the first scan, in a request
MAX_JPEG_SCANS = 32
SOS, EOI = 0xDA, 0xD9  # a JPEG's start of a scan, its end
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # JPEG markers without a length: TEM, RST0..RST7


def too_costly(data: bytes) -> str | None:
    """Why reading this file would cost more than any encoder's file does, or None."""
    if data.startswith(PNG_SIGNATURE) and png_chunks(data, MAX_PIECES) > MAX_PIECES:
        return f"the PNG has more than {MAX_PIECES:,} chunks (encoders write a few hundred at most)"
    if data.startswith(JPEG_SIGNATURE):
        if jpeg_pieces(data, MAX_PIECES) > MAX_PIECES:
            return (f"the JPEG has more than {MAX_PIECES:,} markers or stray bytes before its image data "
                    "(encoders write a few dozen)")
        # each scan starts with FF DA, and in a scan's data a FF byte is followed by 00 or a marker:
        # this counts every scan, and at most a few bytes of metadata that happen to match
        if (scans := data.count(b"\xff\xda")) > MAX_JPEG_SCANS:
            return (f"the JPEG has {scans} scans; at most {MAX_JPEG_SCANS} are read (encoders write 1 "
                    "to about 10)")
    return None


def pieces(data: bytes, limit: int) -> int:
    """The PNG's chunks or the JPEG's pieces up to its first scan, counted to ``limit + 1``."""
    if data.startswith(PNG_SIGNATURE):
        return png_chunks(data, limit)
    return jpeg_pieces(data, limit) if data.startswith(JPEG_SIGNATURE) else 0


def png_chunks(data: bytes, limit: int) -> int:
    """The PNG's chunks, counted to its IEND or to ``limit + 1``, whichever comes first."""
    count, at = 0, len(PNG_SIGNATURE)
    while count <= limit and at + 8 <= len(data):
        count += 1
        if data[at + 4:at + 8] == b"IEND":
            break
        at += 12 + int.from_bytes(data[at:at + 4], "big")  # length, type, data, CRC
    return count


def jpeg_pieces(data: bytes, limit: int) -> int:
    """The steps Pillow takes through a JPEG up to its first scan, counted to ``limit + 1``: each
    marker segment is one, and so is each byte that starts none (fill bytes, stray bytes)."""
    count, at = 0, 2
    while count <= limit and at + 1 < len(data):
        count += 1
        marker = data[at + 1]
        if data[at] != 0xFF or marker in (0x00, 0xFF):
            at += 1
        elif marker in (SOS, EOI):
            break
        elif marker in STANDALONE:
            at += 2
        else:
            at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return count
