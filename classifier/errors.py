"""The exceptions that cross module boundaries.

``ClassifierError`` is the root; ``InputError`` (and its ``SchemaError``) is about
what a user fed in, ``ModelError`` about a model file that is missing, damaged or
does not match its card.
"""

from __future__ import annotations


class ClassifierError(Exception):
    """Base class of every error Sieve raises on purpose."""


class InputError(ClassifierError):
    """An input file or record cannot be used."""


class SchemaError(InputError):
    """A record does not have the shape of SCHEMA.md; the message names the field."""


class PageError(InputError):
    """A web page that cannot be read whole (``html.html_to_blocks``): a reject, not a crash."""


class TooManyBlocks(PageError):
    """A document of more blocks than the caller's limit, found before they are all
    built (a page while it is cut, a record's ``blocks`` before they become blocks)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} blocks (the limit)")
        self.limit = limit


class ModelError(ClassifierError):
    """A model file is missing, unreadable, or does not match its model card."""
