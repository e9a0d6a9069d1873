"""Fingerprint new documents, fold reposts into clusters, index for search (one task)."""

from __future__ import annotations

from archive.catalog import LIVE, Catalog, Tables
from archive.clustering import ClusterStore
from archive.clusters import ClusterConfig
from archive.layout import ArchiveLayout, as_layout
from archive.search import SearchIndex
from extractors.fingerprint import Fingerprinter
from extractors.language import weighted_length

FINGERPRINT_BATCH = 500


def cluster_fn(archive: ArchiveLayout | str) -> dict[str, int]:
    layout = as_layout(archive)
    catalog = layout.open_catalog()
    try:
        return cluster_and_index(catalog, LIVE)
    finally:
        catalog.close()


def cluster_and_index(catalog: Catalog, tables: Tables) -> dict[str, int]:
    """Fingerprint unsigned documents, add them to the clusters, index what changed."""
    store = ClusterStore(catalog, tables)
    fingerprinter = Fingerprinter()
    signed = 0
    while batch := store.unsigned(FINGERPRINT_BATCH):
        prints = [(doc_id, fingerprinter.fingerprint(text or "")) for doc_id, text in batch]
        with catalog.transaction():
            for (doc_id, fp), (_, text) in zip(prints, batch, strict=True):
                store.save_fingerprint(doc_id, fp, weighted_length(text or ""))
        signed += len(batch)
    changes = store.cluster(ClusterConfig())
    with catalog.transaction():
        indexed = SearchIndex(catalog, tables).populate()
    return {
        "indexed": indexed,
        "fingerprinted": signed,
        "clustered": changes.new_documents,
        "changed": changes.changed,
        "translations": changes.translations,
    }
