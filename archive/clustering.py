"""Clustering state in the catalog: signatures in, cluster ids and links out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from archive.catalog import LIVE, Catalog, Tables
from archive.clusters import ClusterConfig, ClusterIndex, Member
from archive.documents import StoredFingerprint
from extractors.fingerprint import Fingerprint, signature_from_bytes


@dataclass(frozen=True)
class ClusterChanges:
    new_documents: int
    changed: int  # documents whose cluster or canonical changed
    translations: int
    candidates_checked: int


class ClusterStore:
    def __init__(self, catalog: Catalog, tables: Tables = LIVE) -> None:
        self.conn = catalog.conn
        self.catalog = catalog
        self.t = tables

    def unsigned(self, limit: int) -> list[tuple[int, str]]:
        return self.conn.execute(
            f"SELECT id, text FROM {self.t.documents} WHERE outcome = 'ok' AND signature IS NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()

    def save_fingerprint(self, doc_id: int, fp: Fingerprint, weighted_length: int) -> None:
        self.save_fingerprints([(doc_id, fp, weighted_length)])

    def save_fingerprints(self, signed: Sequence[tuple[int, Fingerprint, int]]) -> None:
        """(document id, fingerprint, weighted length)s; their clusters are computed anew."""
        stored = [(doc_id, StoredFingerprint.of(fp, length)) for doc_id, fp, length in signed]
        self.conn.executemany(
            f"UPDATE {self.t.documents} SET content_key = ?, signature = ?, shingles = ?, anchors = ?,"
            " weighted_length = ?, cluster_id = NULL, duplicate_of = NULL WHERE id = ?",
            [
                (fp.content_key, fp.signature, fp.shingles, fp.anchors, fp.weighted_length, doc_id)
                for doc_id, fp in stored
            ],
        )

    def forget_many(self, doc_ids: Sequence[int]) -> None:
        """These documents' texts changed: their text records, fingerprints and clusters
        are made again."""
        self.conn.executemany(
            f"UPDATE {self.t.documents} SET text_record_id = NULL, signature = NULL,"
            " cluster_id = NULL, duplicate_of = NULL, translation_of = NULL WHERE id = ?",
            [(doc_id,) for doc_id in doc_ids],
        )

    def load_index(self, config: ClusterConfig) -> tuple[ClusterIndex, list[Member]]:
        """Earlier documents restored into the index; new ones returned to be added."""
        index = ClusterIndex(config)
        new: list[Member] = []
        rows = self.conn.execute(
            "SELECT id, content_key, signature, shingles, fetched_at, LENGTH(text), lang,"
            f" anchors, weighted_length, cluster_id FROM {self.t.documents}"
            " WHERE outcome = 'ok' AND signature IS NOT NULL ORDER BY id"
        )
        for row in rows:
            member = Member(
                id=row[0],
                content_key=row[1],
                signature=signature_from_bytes(row[2]),
                shingles=row[3],
                fetched_at=row[4] or "",
                text_length=row[5] or 0,
                lang=row[6] or "und",
                anchors=tuple(json.loads(row[7] or "[]")),
                weighted_length=row[8] or 0,
            )
            if row[9] is None:
                new.append(member)
            else:
                index.restore(member, row[9])
        return index, new

    def cluster(self, config: ClusterConfig) -> ClusterChanges:
        index, new = self.load_index(config)
        for member in new:
            index.add(member)
        current = {
            r[0]: (r[1], r[2])
            for r in self.conn.execute(
                f"SELECT id, cluster_id, duplicate_of FROM {self.t.documents} WHERE signature IS NOT NULL"
                " AND outcome = 'ok'"
            )
        }
        links = index.link_translations([m.id for m in new])
        updates = [
            (cluster_id, duplicate_of, doc_id)
            for doc_id, (cluster_id, duplicate_of) in index.assignments().items()
            if current.get(doc_id) != (cluster_id, duplicate_of)
        ]
        with self.catalog.transaction():  # in bulk: one round trip per statement, not per row
            self.conn.executemany(
                f"UPDATE {self.t.documents} SET cluster_id = ?, duplicate_of = ? WHERE id = ?",
                updates,
            )
            self.conn.executemany(
                f"UPDATE {self.t.documents} SET translation_of = ? WHERE cluster_id = ?",
                [(original, cluster_id) for cluster_id, original in links.items()],
            )
        return ClusterChanges(len(new), len(updates), len(links), index.candidates_checked)

    def copies(self, doc_id: int) -> list[tuple[int, str, str | None]]:
        """Other documents in the same cluster: (id, url, duplicate_of)."""
        return self.conn.execute(
            f"SELECT id, url, fetched_at FROM {self.t.documents} WHERE cluster_id = ("
            f" SELECT cluster_id FROM {self.t.documents} WHERE id = ?) AND id != ? ORDER BY fetched_at, id",
            (doc_id, doc_id),
        ).fetchall()

    def translations(self, doc_id: int) -> list[tuple[int, str, str]]:
        """Documents linked as translations of this one's cluster, or that it translates."""
        row = self.conn.execute(
            f"SELECT cluster_id, translation_of FROM {self.t.documents} WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return []
        cluster_id, translation_of = row
        return self.conn.execute(
            f"SELECT id, url, lang FROM {self.t.documents} WHERE (translation_of = ? AND cluster_id != ?)"
            " OR (? IS NOT NULL AND cluster_id = ? AND duplicate_of IS NULL) ORDER BY id",
            (cluster_id, cluster_id, translation_of, translation_of),
        ).fetchall()

    def cluster_of(self, doc_id: int) -> tuple[int | None, int | None, int | None]:
        row = self.conn.execute(
            f"SELECT cluster_id, duplicate_of, translation_of FROM {self.t.documents} WHERE id = ?",
            (doc_id,),
        ).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)
