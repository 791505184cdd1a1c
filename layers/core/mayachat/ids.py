"""Time-ordered message ids (ULID: 48-bit milliseconds + 80 random bits, Crockford base32).

They sort by creation time as plain strings, in MongoDB indexes and in clients alike. Python
3.14 has uuid7, but the Lambda runtime here is 3.13, and a ULID is ten lines.
"""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_message_id(now_ms: int | None = None) -> str:
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))
