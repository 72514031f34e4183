"""Character Cards: import V1/V2/V3 JSON and PNG cards, export V2/V3 JSON and PNG, lossless.

    result = import_card(file_bytes_or_parsed_json, character_id=..., owner_id=...)
    result.character   # the Character, every card field kept
    result.warnings    # [CardWarning(code, field, message)]: what is kept but not acted on
    result.avatar      # PNG cards: the image without its card chunks, to store (AvatarImage.ref(key))
    export_card(character, "chara_card_v3")            # JSON-ready dict
    export_png_card(character, avatar_png, "chara_card_v3")  # PNG bytes (Pillow, imported lazily)

Errors: ``ValidationFailed`` 422 with code ``invalid_card`` (the message names the field, e.g.
``data.alternate_greetings[2] must be a string``), ``no_card_in_image`` or ``invalid_image``;
``AppError`` 413 ``card_too_large``; 415 ``unsupported_card_format`` for other files (WebP/JPEG
cards, CHARX archives). The limits are in ``limits.py`` (``limits.describe()`` says them in words).
Lorebook decorators (``@@depth``, ``@@role``, …) and regex keys are read by ``lorebook.py``.
Importing this package does not import Pillow, nor its importer and exporter: the names below
load their modules on first use, so the chat turn (which needs only ``lorebook``) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .exporter import CardSpec, export_card
    from .files import import_card
    from .importer import AvatarImage, CardImport, CardWarning
    from .png import export_png_card

__all__ = ["AvatarImage", "CardImport", "CardSpec", "CardWarning", "export_card", "export_png_card", "import_card"]

_HOMES = {"AvatarImage": "importer", "CardImport": "importer", "CardWarning": "importer", "CardSpec": "exporter",
          "export_card": "exporter", "export_png_card": "png", "import_card": "files"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
