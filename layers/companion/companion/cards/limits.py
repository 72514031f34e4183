"""Size limits of an imported card, in one place (the error messages quote them).

A character is one DynamoDB item (400 KB at most) with its avatar kept elsewhere, so the
card's JSON is held to 256 KiB; the image limits keep a PNG upload within what a Lambda
request carries (6 MB, base64 in the event) and its decoded pixels within a few tens of MB.
"""

from __future__ import annotations

MAX_IMAGE_BYTES = 4 * 1024 * 1024  # a PNG card file
MAX_IMAGE_SIDE = 4096  # pixels, either side
MAX_IMAGE_PIXELS = 3072 * 3072  # width × height
MAX_CARD_BYTES = 256 * 1024  # the card's JSON, UTF-8 (every text field and extension together)
MAX_CARD_DEPTH = 24  # nesting of the card's JSON; the stored item must stay within DynamoDB's 32 levels
MAX_NAME_CHARS = 200
MAX_FIELD_CHARS = 32_000  # any other text field, a lore entry's content included
MAX_GREETINGS = 100  # alternate_greetings, and group_only_greetings, each
MAX_LORE_ENTRIES = 500
MAX_KEYS_PER_ENTRY = 100  # keys, and secondary_keys, of one lore entry
MAX_KEY_CHARS = 500  # one lore key (a regex key included)
MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_SOURCES = 100
MAX_ASSETS = 100
MAX_ASSET_URI_CHARS = 2048  # longer (inline data: URIs) are dropped with a warning, not stored


def describe() -> str:
    """The limits in words, for documentation and error details."""
    return (f"a PNG card of at most {MAX_IMAGE_BYTES // (1024 * 1024)} MiB and {MAX_IMAGE_SIDE} pixels a side "
            f"({MAX_IMAGE_PIXELS:,} pixels); card JSON of at most {MAX_CARD_BYTES // 1024} KiB, nested at most "
            f"{MAX_CARD_DEPTH} levels; a name of at most {MAX_NAME_CHARS} characters, any other text field of at "
            f"most {MAX_FIELD_CHARS:,}; at most {MAX_GREETINGS} greetings of each kind, {MAX_LORE_ENTRIES} lore "
            f"entries with {MAX_KEYS_PER_ENTRY} keys each, {MAX_TAGS} tags and {MAX_ASSETS} assets")
