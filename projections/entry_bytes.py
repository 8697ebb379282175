"""Byte-level primitives of the stored entry (formats 2 and 3): varints, typed texts, numbers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

# Texts carry a 3-bit kind in their head varint (head = n << 3 | kind):
#   LIT  n = byte length, then UTF-8                  TPL  n = prefix length, prefix, then
#   DICT n = index into the fixed word list                raw(suffix): prefix + iid + suffix
#   UUID 16 bytes follow (canonical lowercase form)   REF  n = index of an earlier text
#   HEX  n = byte count of lowercase hex              PFX  n = index of an earlier text; then
#                                                          uint(shared chars), text(rest)
# PFX (format 3) is why two media URLs of one interaction cost one host name: the recording
# link shares "https://media.example.com/" with the transcript link. LIT, TPL and PFX texts
# are numbered in the order their decoding *finishes*, so writer and reader agree.
LIT, TPL, DICT, UUID, REF, HEX, PFX = range(7)
_HEX_DIGITS = frozenset("0123456789abcdef")
_MIN_SHARED = 8  # below this a PFX costs about what it saves
_DECIMAL = re.compile(r"-?\d+\.(\d{1,9})")


def _is_uuid(s: str) -> bool:
    try:
        return str(uuid.UUID(s)) == s
    except ValueError:
        return False


def _decimal(mantissa: int, places: int) -> str:
    digits = str(abs(mantissa)).rjust(places + 1, "0")
    return f"{'-' if mantissa < 0 else ''}{digits[:-places]}.{digits[-places:]}"


def _shared(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class Writer:
    """Appends varints and texts to `out`; `prefixes` enables PFX texts (format 3)."""

    def __init__(self, magic: bytes, words: Sequence[str], prefixes: bool) -> None:
        self.out = bytearray(magic)
        self.iid: str | None = None
        self.texts: dict[str, int] = {}
        self.words = {w: i for i, w in enumerate(words)}
        self.prefixes = prefixes

    def uint(self, n: int) -> None:
        while n >= 0x80:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def sint(self, n: int) -> None:
        self.uint(n * 2 if n >= 0 else -n * 2 - 1)

    def raw(self, data: bytes) -> None:
        self.uint(len(data))
        self.out += data

    def millis(self, delta: int, flag: int = 0) -> None:
        """A time difference; whole seconds (the usual case) take a byte less. `flag` is one
        more bit for the caller."""
        zig = delta * 2 if delta >= 0 else -delta * 2 - 1
        whole = delta % 1000 == 0
        if whole:
            zig = (delta // 1000) * 2 if delta >= 0 else -(delta // 1000) * 2 - 1
        self.uint(((zig << 1 | whole) << 1) | flag)

    def number(self, value: float) -> None:
        """A float: short decimals ("0.6", "-0.25") as places + mantissa, else repr."""
        text = repr(float(value))
        match = _DECIMAL.fullmatch(text)
        if match:
            places = len(match.group(1))
            mantissa = int(text.replace(".", ""))
            if _decimal(mantissa, places) == text:
                self.uint(places)
                self.sint(mantissa)
                return
        self.uint(0)
        self.raw(text.encode())

    def text(self, s: str) -> None:
        if s in self.words:
            return self.uint(self.words[s] << 3 | DICT)
        if s in self.texts:
            return self.uint(self.texts[s] << 3 | REF)
        if len(s) == 36 and _is_uuid(s):
            self.uint(UUID)
            self.out += uuid.UUID(s).bytes
            return None
        if 0 < len(s) <= 64 and len(s) % 2 == 0 and set(s) <= _HEX_DIGITS:
            self.uint(len(s) // 2 << 3 | HEX)  # digests, hex ids: half the bytes
            self.out += bytes.fromhex(s)
            return None
        if self.prefixes and self._prefixed(s):
            return None
        if self.iid and len(self.iid) >= 8 and self.iid in s:
            self.texts[s] = len(self.texts)
            pre, post = s.split(self.iid, 1)
            self.uint(len(pre.encode()) << 3 | TPL)
            self.out += pre.encode()
            return self.raw(post.encode())
        self.texts[s] = len(self.texts)
        data = s.encode()
        self.uint(len(data) << 3 | LIT)
        self.out += data
        return None

    def _prefixed(self, s: str) -> bool:
        if len(s) <= _MIN_SHARED:
            return False
        head = s[:_MIN_SHARED]
        best, index = 0, -1
        for earlier, i in self.texts.items():  # insertion order = index order: ties -> lowest
            if not earlier.startswith(head):
                continue  # cheap filter: most texts share nothing
            n = _shared(earlier, s)
            if n > best:
                best, index = n, i
        if best < _MIN_SHARED or best == len(s):
            return False
        self.uint(index << 3 | PFX)
        self.uint(best)
        self.text(s[best:])
        self.texts[s] = len(self.texts)
        return True


class Reader:
    """Reads what Writer wrote; raises ValueError (or IndexError) on malformed input."""

    def __init__(self, data: bytes, words: Sequence[str]) -> None:
        self.data, self.pos = data, 1
        self.iid = ""
        self.texts: list[str] = []
        self.words = words

    def uint(self) -> int:
        n = shift = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return n

    def sint(self) -> int:
        n = self.uint()
        return n >> 1 if n % 2 == 0 else -((n + 1) >> 1)

    def take(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        if len(chunk) != size:
            raise ValueError("truncated entry")
        self.pos += size
        return chunk

    def raw(self) -> bytes:
        return self.take(self.uint())

    def millis(self) -> tuple[int, int]:
        """(delta, flag) written by Writer.millis."""
        head = self.uint()
        flag, whole, zig = head & 1, head >> 1 & 1, head >> 2
        delta = zig >> 1 if zig % 2 == 0 else -((zig + 1) >> 1)
        return (delta * 1000 if whole else delta), flag

    def number(self) -> float:
        places = self.uint()
        if places == 0:
            return float(self.raw().decode())
        return float(_decimal(self.sint(), places))

    def text(self) -> str:
        head = self.uint()
        kind, n = head & 7, head >> 3
        if kind == DICT:
            return self.words[n]
        if kind == REF:
            return self.texts[n]
        if kind == UUID:
            return str(uuid.UUID(bytes=self.take(16)))
        if kind == HEX:
            return self.take(n).hex()
        if kind == PFX:
            shared = self.uint()
            base = self.texts[n]
            if shared > len(base):
                raise ValueError("prefix longer than its text")
            s = base[:shared] + self.text()
        elif kind == TPL:
            s = self.take(n).decode() + self.iid + self.raw().decode()
        elif kind == LIT:
            s = self.take(n).decode()
        else:
            raise ValueError(f"unknown text kind {kind}")
        self.texts.append(s)
        return s
