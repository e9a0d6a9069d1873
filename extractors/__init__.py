"""Bytes -> clean text and facts about it. No network, no database, no Prefect.

The public names load on first use (PEP 562): the crawler imports `extractors.decode`
alone, and should not pay for trafilatura, numpy and the language profiles to do so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractors.clean import Cleaner, SiteRules
    from extractors.model import Capture, Document, Removal, Segment
    from extractors.pipeline import Pipeline, extract

_HOMES = {
    "Capture": "extractors.model",
    "Cleaner": "extractors.clean",
    "Document": "extractors.model",
    "Pipeline": "extractors.pipeline",
    "Removal": "extractors.model",
    "Segment": "extractors.model",
    "SiteRules": "extractors.clean",
    "extract": "extractors.pipeline",
}

__all__ = [
    "Capture",
    "Cleaner",
    "Document",
    "Pipeline",
    "Removal",
    "Segment",
    "SiteRules",
    "extract",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'extractors' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
