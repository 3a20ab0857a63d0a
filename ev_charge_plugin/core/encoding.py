"""Decoding of text files as operators really send them."""
import codecs

from .errors import SourceError
from .i18n import tr


def decode_text(data: bytes, name: str = "") -> tuple:
    """Return ``(text, encoding)`` for UTF-8 (with or without BOM) or Windows-1252 bytes.

    UTF-8 is tried first because Windows-1252 accepts almost any byte string and
    would silently garble UTF-8 input.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError(tr("{name} is UTF-16 text; save it as UTF-8 CSV and load it again.").format(name=name or tr("The file")))
    # Checked before UTF-8, which accepts NUL: UTF-16 without a BOM would otherwise decode as text.
    if b"\x00" in data:
        raise SourceError(tr("{name} is a binary file or UTF-16 text, not UTF-8 or Windows-1252 text.").format(name=name or tr("The file")))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # cp1252 leaves five bytes undefined; latin-1 maps them so no byte is ever lost.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"
