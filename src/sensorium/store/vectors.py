"""Vector storage behind a small interface: LanceDB (embedded, default) here, pgvector in `vectors_pg.py`.

The interface (`VectorStore`) is deliberately the intersection of what LanceDB and PostgreSQL +
pgvector both do well, so that a `PgVectorStore` can satisfy it without changing any caller:

* a *collection* is a table with a declared schema (`CollectionSchema`): an `id` text primary key,
  typed scalar fields (`str`, `int`, `float`, `json`) and one or more fixed-size float vectors.
  pgvector mapping: one table per collection, `id text primary key`, scalar columns (`json` ->
  `jsonb`), one `vector(d)` column per vector field; LanceDB: one `.lance` table, `json` fields stored
  as JSON text.
* `upsert(rows)` inserts or replaces rows by id (pgvector: `INSERT ... ON CONFLICT (id) DO UPDATE`;
  LanceDB: `merge_insert("id")`), `delete(ids)`, `get(ids)`, `rows(columns)`, `count()`.
* `search(vector, k, field, filter, metric)` returns the k nearest rows with their distance:
  metric `cosine` (distance = 1 - cosine similarity, pgvector `<=>`) or `dot` (distance = 1 - dot
  product, LanceDB's convention; pgvector `<#>` is -dot, so add 1). `filter` is a portable equality
  filter `{column: value | [values]}`, never raw SQL, so both backends can translate it safely.
* `optimize(collection)` builds/refreshes an approximate index once a collection is large enough
  (LanceDB IVF-HNSW-SQ / IVF-PQ; pgvector `CREATE INDEX ... USING hnsw`); below the threshold,
  search is exact brute force.
* per-collection info (`get_info`/`set_info`): a small JSON document (pgvector: a `collections`
  table; LanceDB: `DATA_DIR/vectors/<name>.info.json`).

Thread safety: LanceDB tables are safe for concurrent readers; writers to one collection are
serialized by a per-collection lock here.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sensorium.errors import ErrorCode, SensoriumError

FieldType = Literal["str", "int", "float", "json"]
Metric = Literal["cosine", "dot"]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

#: Below this many rows search stays exact (a flat scan is fast and has recall 1.0).
INDEX_MIN_ROWS = 5_000


@dataclass(frozen=True)
class CollectionSchema:
    fields: dict[str, FieldType] = field(default_factory=dict)
    vectors: dict[str, int] = field(default_factory=dict)  # name -> dimension


    def query_vector(self, field: str, vector: np.ndarray) -> np.ndarray:
        """`vector` as float32 for a search on `field`, or VALIDATION_ERROR (unknown field, wrong size)."""
        if field not in self.vectors:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Unknown vector field {field!r}.")
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.vectors[field]:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 f"Query vector has {q.shape[0]} values; {field!r} has {self.vectors[field]}.")
        return q


@dataclass
class Hit:
    id: str
    distance: float
    row: dict[str, Any]


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SensoriumError(
            ErrorCode.VALIDATION_ERROR,
            f"Invalid collection name {name!r}: use 1-100 letters, digits, '_' or '-', "
            "starting with a letter or digit.",
        )
    return name


class VectorStore(ABC):
    """What the pipelines need from a vector database (see module docstring)."""

    @abstractmethod
    def collections(self) -> list[str]: ...

    @abstractmethod
    def exists(self, collection: str) -> bool: ...

    @abstractmethod
    def create(self, collection: str, schema: CollectionSchema) -> None:
        """Create the collection if it does not exist (idempotent)."""

    @abstractmethod
    def drop(self, collection: str) -> bool: ...

    @abstractmethod
    def upsert(self, collection: str, rows: Sequence[dict[str, Any]]) -> int: ...

    @abstractmethod
    def delete(self, collection: str, ids: Iterable[str]) -> int: ...

    @abstractmethod
    def get(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]: ...

    @abstractmethod
    def rows(self, collection: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """All rows (only `columns` when given; vectors as numpy arrays)."""

    @abstractmethod
    def vectors(self, collection: str, field: str) -> tuple[list[str], np.ndarray]:
        """(ids, matrix [N, d]) of one vector field (for exact re-ranking and benchmarks)."""

    @abstractmethod
    def count(self, collection: str) -> int: ...

    @abstractmethod
    def search(
        self, collection: str, vector: np.ndarray, k: int, *, field: str,
        filter: dict[str, Any] | None = None, metric: Metric = "cosine",
        columns: Sequence[str] | None = None,
    ) -> list[Hit]: ...

    @abstractmethod
    def optimize(self, collection: str, *, min_rows: int = INDEX_MIN_ROWS,
                 fields: dict[str, Metric] | None = None) -> dict[str, Any]:
        """Compact; with >= min_rows, build an ANN index per vector field (`fields`: {field: metric},
        default every vector field with cosine)."""

    @abstractmethod
    def get_info(self, collection: str) -> dict[str, Any]: ...

    @abstractmethod
    def set_info(self, collection: str, info: dict[str, Any]) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional: only stores holding connections need it
        """Release connections (the pgvector store's pool); LanceDB has nothing to release."""


# ---------------------------------------------------------------------------------------------
def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(float(value)) if isinstance(value, (float, np.floating)) else str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def equality_filter(filter: dict[str, Any] | None, allowed: Iterable[str]) -> str | None:
    """Portable `{col: value | [values]}` -> SQL predicate (columns checked against the schema)."""
    if not filter:
        return None
    allowed = set(allowed)
    parts = []
    for col, value in filter.items():
        if col not in allowed:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Cannot filter on unknown field {col!r}.")
        if isinstance(value, (list, tuple, set)):
            if not value:
                return "false"
            parts.append(f"{col} IN ({', '.join(_sql_literal(v) for v in value)})")
        else:
            parts.append(f"{col} = {_sql_literal(value)}")
    return " AND ".join(parts)


class LanceVectorStore(VectorStore):
    """LanceDB in a folder (default DATA_DIR/vectors)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._db: Any = None
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._schemas: dict[str, CollectionSchema] = {}

    @property
    def db(self) -> Any:
        """The LanceDB connection, opened on first use (importing lancedb + pyarrow costs seconds and
        ~80 MB: the server starts without them)."""
        if self._db is None:
            with self._guard:
                if self._db is None:
                    import lancedb

                    self._db = lancedb.connect(str(self.root))
        return self._db

    # -- helpers -----------------------------------------------------------------------------
    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _table(self, name: str):
        check_name(name)
        try:
            return self.db.open_table(name)
        except (FileNotFoundError, ValueError) as exc:
            raise SensoriumError(ErrorCode.NOT_FOUND, f"No collection named {name!r}.") from exc

    def _schema(self, name: str) -> CollectionSchema:
        if name not in self._schemas:
            info = self.get_info(name)
            sch = info.get("_schema")
            if not sch:
                raise SensoriumError(ErrorCode.NOT_FOUND, f"No collection named {name!r}.")
            self._schemas[name] = CollectionSchema(fields=dict(sch["fields"]), vectors=dict(sch["vectors"]))
        return self._schemas[name]

    @staticmethod
    def _arrow_schema(schema: CollectionSchema):
        import pyarrow as pa

        types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "json": pa.string()}
        cols = [pa.field("id", pa.string(), nullable=False)]
        cols += [pa.field(n, types[t]) for n, t in schema.fields.items()]
        cols += [pa.field(n, pa.list_(pa.float32(), d)) for n, d in schema.vectors.items()]
        return pa.schema(cols)

    def _to_arrow(self, name: str, rows: Sequence[dict[str, Any]]):
        import pyarrow as pa

        schema = self._schema(name)
        arrow_schema = self._arrow_schema(schema)
        columns: dict[str, Any] = {"id": [str(r["id"]) for r in rows]}
        for n, t in schema.fields.items():
            vals = [r.get(n) for r in rows]
            if t == "json":
                vals = [None if v is None else json.dumps(v, ensure_ascii=False) for v in vals]
            columns[n] = vals
        for n, d in schema.vectors.items():
            mat = np.zeros((len(rows), d), dtype=np.float32)
            for i, r in enumerate(rows):
                v = np.asarray(r[n], dtype=np.float32).reshape(-1)
                if v.shape[0] != d:
                    raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                         f"Vector {n!r} has {v.shape[0]} values, expected {d}.")
                mat[i] = v
            columns[n] = pa.FixedSizeListArray.from_arrays(pa.array(mat.reshape(-1)), d)
        return pa.table(columns, schema=arrow_schema)

    def _decode(self, name: str, table) -> list[dict[str, Any]]:
        schema = self._schema(name)
        out = []
        cols = {c: table.column(c) for c in table.column_names}
        n = table.num_rows
        py = {c: (col.to_pylist() if c not in schema.vectors else None) for c, col in cols.items()}
        mats = {}
        for c in schema.vectors:
            if c in cols:
                arr = cols[c].combine_chunks()
                d = schema.vectors[c]
                mats[c] = np.asarray(arr.flatten(), dtype=np.float32).reshape(n, d) if n else \
                    np.zeros((0, d), np.float32)
        for i in range(n):
            row: dict[str, Any] = {}
            for c in cols:
                if c in mats:
                    row[c] = mats[c][i]
                elif c == "_distance":
                    row[c] = float(py[c][i])
                else:
                    v = py[c][i]
                    if schema.fields.get(c) == "json" and v is not None:
                        v = json.loads(v)
                    row[c] = v
            out.append(row)
        return out

    # -- collections ---------------------------------------------------------------------------
    def collections(self) -> list[str]:
        res = self.db.list_tables()
        names = getattr(res, "tables", res)
        return sorted(n for n in names if (self.root / f"{n}.info.json").exists())

    def exists(self, collection: str) -> bool:
        check_name(collection)
        return collection in self.collections()

    def create(self, collection: str, schema: CollectionSchema) -> None:
        check_name(collection)
        with self._lock(collection):
            if self.exists(collection):
                return
            self.db.create_table(collection, schema=self._arrow_schema(schema), mode="overwrite")
            self._schemas[collection] = schema
            info = self._read_info(collection)
            info["_schema"] = {"fields": schema.fields, "vectors": schema.vectors}
            self._write_info(collection, info)

    def drop(self, collection: str) -> bool:
        check_name(collection)
        with self._lock(collection):
            existed = self.exists(collection)
            try:
                self.db.drop_table(collection)
            except (FileNotFoundError, ValueError):
                pass
            (self.root / f"{collection}.info.json").unlink(missing_ok=True)
            self._schemas.pop(collection, None)
            return existed

    # -- rows --------------------------------------------------------------------------------------
    def upsert(self, collection: str, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        data = self._to_arrow(collection, rows)
        with self._lock(collection):
            tbl = self._table(collection)
            (tbl.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
             .execute(data))
        return len(rows)

    def delete(self, collection: str, ids: Iterable[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self._lock(collection):
            tbl = self._table(collection)
            before = tbl.count_rows()
            for i in range(0, len(ids), 500):
                tbl.delete(equality_filter({"id": ids[i:i + 500]}, ["id"]))
            return before - tbl.count_rows()

    def get(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        tbl = self._table(collection)
        where = equality_filter({"id": list(ids)}, ["id"])
        table = tbl.search().where(where).limit(len(ids)).to_arrow()
        return self._decode(collection, table)

    def rows(self, collection: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        tbl = self._table(collection)
        n = tbl.count_rows()
        if n == 0:
            return []
        query = tbl.search()
        if columns:
            query = query.select(list(dict.fromkeys(columns)))
        return self._decode(collection, query.limit(n).to_arrow())

    def vectors(self, collection: str, field: str) -> tuple[list[str], np.ndarray]:
        d = self._schema(collection).vectors[field]
        tbl = self._table(collection)
        n = tbl.count_rows()
        table = tbl.search().select(["id", field]).limit(max(n, 1)).to_arrow()
        ids = table.column("id").to_pylist()
        mat = np.asarray(table.column(field).combine_chunks().flatten(), dtype=np.float32)
        return ids, mat.reshape(len(ids), d)

    def count(self, collection: str) -> int:
        return int(self._table(collection).count_rows())

    # -- search ------------------------------------------------------------------------------------
    def search(
        self, collection: str, vector: np.ndarray, k: int, *, field: str,
        filter: dict[str, Any] | None = None, metric: Metric = "cosine",
        columns: Sequence[str] | None = None,
    ) -> list[Hit]:
        schema = self._schema(collection)
        q = schema.query_vector(field, vector)
        if k <= 0:
            return []
        tbl = self._table(collection)
        builder = tbl.search(q, vector_column_name=field).distance_type(metric).limit(k)
        if self._has_index(tbl, field):
            builder = builder.nprobes(32).refine_factor(5)
        where = equality_filter(filter, ["id", *schema.fields])
        if where:
            builder = builder.where(where, prefilter=True)
        if columns is not None:
            builder = builder.select(list(dict.fromkeys(["id", *columns, "_distance"])))
        table = builder.to_arrow()
        hits = []
        for row in self._decode(collection, table):
            dist = float(row.pop("_distance"))
            hits.append(Hit(id=row["id"], distance=dist, row=row))
        return hits

    @staticmethod
    def _has_index(tbl, field: str) -> bool:
        try:
            return any(field in (getattr(ix, "columns", None) or []) for ix in tbl.list_indices())
        except Exception:  # pragma: no cover - older lancedb
            return False

    def optimize(self, collection: str, *, min_rows: int = INDEX_MIN_ROWS,
                 fields: dict[str, Metric] | None = None) -> dict[str, Any]:
        """Compact the table; with >= min_rows, build an IVF-HNSW-SQ index per vector field
        (`fields`: {field: metric}, default every vector field with cosine). Only index fields whose
        vectors are never all-zero (a zero vector has no cosine direction)."""
        schema = self._schema(collection)
        out: dict[str, Any] = {"indexed": []}
        with self._lock(collection):
            tbl = self._table(collection)
            try:
                tbl.optimize()
            except Exception:  # pragma: no cover - compaction is best effort
                pass
            n = tbl.count_rows()
            out["rows"] = n
            if n < min_rows:
                return out
            for f, metric in (fields or {f: "cosine" for f in schema.vectors}).items():
                parts = max(1, int(np.sqrt(n) / 2))
                tbl.create_index(metric=metric, vector_column_name=f, index_type="IVF_HNSW_SQ",
                                 num_partitions=parts, replace=True)
                out["indexed"].append(f)
        return out

    # -- info ----------------------------------------------------------------------------------------
    def _info_path(self, collection: str) -> Path:
        return self.root / f"{check_name(collection)}.info.json"

    def _read_info(self, collection: str) -> dict[str, Any]:
        p = self._info_path(collection)
        if not p.exists():
            return {}
        return json.loads(p.read_text(encoding="utf-8"))

    def _write_info(self, collection: str, info: dict[str, Any]) -> None:
        p = self._info_path(collection)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".info-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(info, fh, ensure_ascii=False, indent=1, default=str)
        os.replace(tmp, p)

    def get_info(self, collection: str) -> dict[str, Any]:
        return self._read_info(collection)

    def set_info(self, collection: str, info: dict[str, Any]) -> None:
        with self._lock(collection + ".info"):
            cur = self._read_info(collection)
            cur.update({k: v for k, v in info.items() if k != "_schema"})
            self._write_info(collection, cur)

