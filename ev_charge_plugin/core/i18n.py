"""Translation hook for user-facing messages built in ``core``.

``core`` cannot import Qt, so it marks messages with :func:`tr`. Outside QGIS the
text is used as it is; the plugin installs a translator backed by
``QCoreApplication.translate`` when it starts.
"""
from typing import Callable

_translate: Callable[[str, str], str] = lambda context, text: text


def install_translator(translate: Callable[[str, str], str]) -> None:
    global _translate
    _translate = translate


def tr(text: str, context: str = "EvCharge") -> str:
    return _translate(context, text)
