"""Bytes -> clean text and facts about it. No network, no database, no Prefect."""

from extractors.clean import Cleaner, SiteRules
from extractors.model import Capture, Document, Removal, Segment
from extractors.pipeline import Pipeline, extract

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
