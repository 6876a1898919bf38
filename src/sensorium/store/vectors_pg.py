"""The vector store on PostgreSQL + pgvector (`VECTOR_BACKEND=pgvector`): the same `VectorStore` contract as
LanceDB (see `store/vectors.py`), in the database of DATABASE_URL.

* a collection is a table `vec_<name>` (shortened with a hash past PostgreSQL's 63-byte names): `id text
  primary key`, scalar columns (`str` text, `int` bigint, `float` double precision, `json` jsonb) and one
  `vector(d)` column per vector field; the catalog `sensorium_vector_collections` keeps each collection's
  table, schema and info document. These tables are the vector store's own, not Alembic's (like LanceDB's
  folder): `create` makes them.
* search is `ORDER BY field <=> q` (cosine) or `<#> q` (negative inner product, so distance = 1 + it =
  1 - dot, LanceDB's convention) with the portable equality filter as bound parameters. Exact below
  `INDEX_MIN_ROWS`; `optimize` builds an HNSW index per field (`vector_cosine_ops` / `vector_ip_ops`), searched
  with `hnsw.ef_search` = max(200, 4k) and `hnsw.iterative_scan = strict_order` so a filter still yields k rows.
* vectors travel in pgvector's binary format (`pgvector.psycopg.register_vector` on every connection) and
  come back as float32 numpy arrays. The engine pings connections before use: after a PostgreSQL restart
  the next call reconnects.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

from sensorium.errors import ErrorCode, SensoriumError
from sensorium.store.vectors import INDEX_MIN_ROWS, CollectionSchema, Hit, Metric, VectorStore, check_name

CATALOG = "sensorium_vector_collections"
TABLE_PREFIX = "vec_"
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SQL_TYPES = {"str": "text", "int": "bigint", "float": "double precision", "json": "jsonb"}
OPS = {"cosine": ("<=>", "vector_cosine_ops"), "dot": ("<#>", "vector_ip_ops")}
#: HNSW candidate list per search: 200 (or 4k) keeps recall@10 >= 0.95 at 100 000 512-d vectors with a
#: 1-in-4 filter (100 gave 0.944 there: bench/bench_scaleout_vectors.py)
EF_SEARCH_MIN = 200
MAX_EF_SEARCH = 1000


def table_for(name: str) -> str:
    table = TABLE_PREFIX + check_name(name)
    if len(table.encode()) > 63:
        table = f"{table[:46]}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"
    return table


def q(identifier: str) -> str:
    """A double-quoted SQL identifier (names are validated before they get here)."""
    return '"' + identifier.replace('"', '""') + '"'


def _plain(value: Any) -> Any:
    """pgvector's `Vector` -> a float32 numpy array (what LanceDB hands back); anything else as is."""
    return np.asarray(value.to_numpy(), dtype=np.float32) if hasattr(value, "to_numpy") else value


def _check_schema(schema: CollectionSchema) -> None:
    for col in [*schema.fields, *schema.vectors]:
        if not COLUMN_RE.match(col) or col == "id":
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Invalid field name {col!r}.")
    for col, dim in schema.vectors.items():
        if not 1 <= int(dim) <= 16000:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Vector {col!r}: dimension {dim} out of range.")


class PgVectorStore(VectorStore):
    """pgvector tables in the PostgreSQL database at `url` (a SQLAlchemy postgresql+psycopg URL)."""

    def __init__(self, url: str) -> None:
        if make_url(url).get_backend_name() != "postgresql":
            raise SensoriumError(ErrorCode.VALIDATION_ERROR,
                                 "VECTOR_BACKEND=pgvector needs DATABASE_URL=postgresql+psycopg://...")
        self.url = url
        self._schemas: dict[str, tuple[str, CollectionSchema]] = {}
        self.engine: Engine = create_engine(url, pool_pre_ping=True, future=True)
        self._ready = False

    # -- connections -------------------------------------------------------------------------------
    def _setup(self) -> None:
        """Create the extension and the catalog once (first use, so the server starts without PostgreSQL
        answering), then teach every new connection pgvector's types."""
        import psycopg
        from pgvector.psycopg import register_vector

        conninfo = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                try:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except psycopg.errors.UniqueViolation:  # another process created it at the same moment
                    pass
                conn.execute(f"CREATE TABLE IF NOT EXISTS {CATALOG} (name text PRIMARY KEY, table_name text NOT "
                             "NULL UNIQUE, schema jsonb NOT NULL, info jsonb NOT NULL DEFAULT '{}'::jsonb)")
        except psycopg.OperationalError as exc:
            raise SensoriumError(ErrorCode.SERVICE_UNAVAILABLE, "The vector database cannot answer right now "
                                 f"({type(exc).__name__}); retry shortly.", headers={"Retry-After": "5"}) from exc
        except psycopg.errors.FeatureNotSupported as exc:  # pragma: no cover - a server without pgvector
            raise SensoriumError(ErrorCode.SERVICE_UNAVAILABLE, "VECTOR_BACKEND=pgvector: the PostgreSQL server "
                                 f"has no `vector` extension ({exc}).") from exc

        @event.listens_for(self.engine, "connect")
        def _types(dbapi_conn, _record) -> None:
            register_vector(dbapi_conn)
            dbapi_conn.commit()

        self.engine.dispose()  # connections made before the listener have no vector types
        self._ready = True

    def _begin(self):
        if not self._ready:
            self._setup()
        return self.engine.begin()

    # -- schemas -------------------------------------------------------------------------------------
    def _entry(self, name: str) -> tuple[str, CollectionSchema]:
        check_name(name)
        if name not in self._schemas:
            with self._begin() as conn:
                row = conn.exec_driver_sql(f"SELECT table_name, schema FROM {CATALOG} WHERE name = %s",
                                           (name,)).first()
            if row is None:
                raise SensoriumError(ErrorCode.NOT_FOUND, f"No collection named {name!r}.")
            sch = row[1]
            self._schemas[name] = (row[0], CollectionSchema(fields=dict(sch["fields"]), vectors=dict(sch["vectors"])))
        return self._schemas[name]

    def collections(self) -> list[str]:
        with self._begin() as conn:
            return sorted(r[0] for r in conn.exec_driver_sql(f"SELECT name FROM {CATALOG}"))

    def exists(self, collection: str) -> bool:
        check_name(collection)
        with self._begin() as conn:
            return conn.exec_driver_sql(f"SELECT 1 FROM {CATALOG} WHERE name = %s", (collection,)).first() is not None

    def create(self, collection: str, schema: CollectionSchema) -> None:
        from psycopg.types.json import Jsonb

        table = table_for(collection)
        _check_schema(schema)
        cols = ["id text PRIMARY KEY"]
        cols += [f"{q(n)} {SQL_TYPES[t]}" for n, t in schema.fields.items()]
        cols += [f"{q(n)} vector({int(d)})" for n, d in schema.vectors.items()]
        doc = {"fields": schema.fields, "vectors": schema.vectors}
        with self._begin() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
            conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {q(table)} ({', '.join(cols)})")
            conn.exec_driver_sql(f"INSERT INTO {CATALOG} (name, table_name, schema) VALUES (%s, %s, %s) "
                                 "ON CONFLICT (name) DO NOTHING", (collection, table, Jsonb(doc)))

    def drop(self, collection: str) -> bool:
        check_name(collection)
        self._schemas.pop(collection, None)
        with self._begin() as conn:
            row = conn.exec_driver_sql(f"DELETE FROM {CATALOG} WHERE name = %s RETURNING table_name",
                                       (collection,)).first()
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(row[0] if row else table_for(collection))}")
        return row is not None

    # -- rows --------------------------------------------------------------------------------------
    def _values(self, schema: CollectionSchema, row: dict[str, Any]) -> tuple:
        from psycopg.types.json import Jsonb

        out: list[Any] = [str(row["id"])]
        casts = {"str": str, "int": int, "float": float}
        for n, t in schema.fields.items():
            v = row.get(n)
            out.append(None if v is None else Jsonb(v) if t == "json" else casts[t](v))
        for n, d in schema.vectors.items():
            v = np.asarray(row[n], dtype=np.float32).reshape(-1)
            if v.shape[0] != d:
                raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Vector {n!r} has {v.shape[0]} values, expected {d}.")
            out.append(v)
        return tuple(out)

    def upsert(self, collection: str, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        table, schema = self._entry(collection)
        cols = ["id", *schema.fields, *schema.vectors]
        values = [self._values(schema, r) for r in rows]
        sql = (f"INSERT INTO {q(table)} ({', '.join(map(q, cols))}) VALUES ({', '.join(['%s'] * len(cols))}) "
               f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in cols[1:])}")
        with self._begin() as conn:
            for i in range(0, len(values), 1000):
                conn.exec_driver_sql(sql, values[i:i + 1000])
        return len(rows)

    def delete(self, collection: str, ids: Iterable[str]) -> int:
        ids = [str(i) for i in ids]
        if not ids:
            return 0
        table, _ = self._entry(collection)
        with self._begin() as conn:
            return conn.exec_driver_sql(f"DELETE FROM {q(table)} WHERE id = ANY(%s)", (ids,)).rowcount

    @staticmethod
    def _dicts(result) -> list[dict[str, Any]]:
        keys = list(result.keys())
        return [{k: _plain(v) for k, v in zip(keys, r, strict=True)} for r in result]

    def _columns(self, schema: CollectionSchema, columns: Sequence[str] | None) -> list[str]:
        if columns is None:
            return ["id", *schema.fields, *schema.vectors]
        known = {"id", *schema.fields, *schema.vectors}
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Unknown fields {unknown}.")
        return list(dict.fromkeys(columns))

    def get(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        table, schema = self._entry(collection)
        cols = ", ".join(map(q, self._columns(schema, None)))
        with self._begin() as conn:
            return self._dicts(conn.exec_driver_sql(f"SELECT {cols} FROM {q(table)} WHERE id = ANY(%s)",
                                                    ([str(i) for i in ids],)))

    def rows(self, collection: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        table, schema = self._entry(collection)
        cols = ", ".join(map(q, self._columns(schema, columns)))
        with self._begin() as conn:
            return self._dicts(conn.exec_driver_sql(f"SELECT {cols} FROM {q(table)} ORDER BY id"))

    def vectors(self, collection: str, field: str) -> tuple[list[str], np.ndarray]:
        table, schema = self._entry(collection)
        d = schema.vectors[field]
        with self._begin() as conn:
            rows = conn.exec_driver_sql(f"SELECT id, {q(field)} FROM {q(table)} ORDER BY id").all()
        mat = np.stack([_plain(r[1]) for r in rows]) if rows else np.zeros((0, d), np.float32)
        return [r[0] for r in rows], mat

    def count(self, collection: str) -> int:
        table, _ = self._entry(collection)
        with self._begin() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {q(table)}").scalar_one())

    # -- search ------------------------------------------------------------------------------------
    @staticmethod
    def _where(filter: dict[str, Any] | None, schema: CollectionSchema) -> tuple[str, list[Any]]:
        """The portable `{column: value | [values]}` filter as SQL with bound parameters."""
        if not filter:
            return "", []
        allowed = {"id", *schema.fields}
        parts, params = [], []
        for col, value in filter.items():
            if col not in allowed:
                raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Cannot filter on unknown field {col!r}.")
            if isinstance(value, (list, tuple, set)):
                parts.append(f"{q(col)} = ANY(%s)")
                params.append(list(value))
            else:
                parts.append(f"{q(col)} = %s")
                params.append(value.item() if isinstance(value, np.generic) else value)
        return " WHERE " + " AND ".join(parts), params

    def search(
        self, collection: str, vector: np.ndarray, k: int, *, field: str,
        filter: dict[str, Any] | None = None, metric: Metric = "cosine",
        columns: Sequence[str] | None = None,
    ) -> list[Hit]:
        table, schema = self._entry(collection)
        qv = schema.query_vector(field, vector)
        if metric not in OPS:
            raise SensoriumError(ErrorCode.VALIDATION_ERROR, f"Unknown metric {metric!r}.")
        if k <= 0:
            return []
        where, params = self._where(filter, schema)
        cols = self._columns(schema, None if columns is None else ["id", *columns])
        op = OPS[metric][0]
        shift = "1 + " if metric == "dot" else ""
        sql = (f"SELECT {', '.join(map(q, cols))}, {shift}({q(field)} {op} %s) AS _distance FROM {q(table)}{where} "
               f"ORDER BY {q(field)} {op} %s LIMIT %s")
        with self._begin() as conn:
            self._tune(conn, k)
            rows = self._dicts(conn.exec_driver_sql(sql, (qv, *params, qv, int(k))))
        return [Hit(id=r["id"], distance=float(r.pop("_distance")), row=r) for r in rows]

    @staticmethod
    def _tune(conn: Connection, k: int) -> None:
        ef = min(MAX_EF_SEARCH, max(EF_SEARCH_MIN, 4 * int(k)))
        conn.exec_driver_sql(f"SET LOCAL hnsw.ef_search = {ef}")
        conn.exec_driver_sql("SET LOCAL hnsw.iterative_scan = strict_order")

    def optimize(self, collection: str, *, min_rows: int = INDEX_MIN_ROWS,
                 fields: dict[str, Metric] | None = None) -> dict[str, Any]:
        """ANALYZE; with >= min_rows, an HNSW index per field (`fields`: {field: metric}, default every
        vector field with cosine), replacing one built for another metric."""
        table, schema = self._entry(collection)
        out: dict[str, Any] = {"indexed": []}
        with self._begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {q(table)}")
            n = int(conn.exec_driver_sql(f"SELECT count(*) FROM {q(table)}").scalar_one())
        out["rows"] = n
        if n < min_rows:
            return out
        for f, metric in (fields or {f: "cosine" for f in schema.vectors}).items():
            with self._begin() as conn:
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
                for other, (_, ops) in OPS.items():
                    name = self._index_name(table, f, other)
                    if other != metric:
                        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {q(name)}")
                    else:
                        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} "
                                             f"USING hnsw ({q(f)} {ops})")
            out["indexed"].append(f)
        return out

    @staticmethod
    def _index_name(table: str, field: str, metric: str) -> str:
        name = f"{table}_{field}_hnsw_{metric}"
        return name if len(name) <= 63 else f"ix_{hashlib.sha1(name.encode()).hexdigest()[:24]}_{metric}"

    # -- info ----------------------------------------------------------------------------------------
    def get_info(self, collection: str) -> dict[str, Any]:
        check_name(collection)
        with self._begin() as conn:
            row = conn.exec_driver_sql(f"SELECT info, schema FROM {CATALOG} WHERE name = %s", (collection,)).first()
        return {} if row is None else {**row[0], "_schema": row[1]}

    def set_info(self, collection: str, info: dict[str, Any]) -> None:
        from psycopg.types.json import Jsonb

        check_name(collection)
        doc = {k: v for k, v in info.items() if k != "_schema"}
        as_text = Jsonb(doc, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))
        with self._begin() as conn:  # merged in one statement: concurrent writers of other keys are kept
            conn.exec_driver_sql(f"UPDATE {CATALOG} SET info = info || %s WHERE name = %s", (as_text, collection))

    def close(self) -> None:
        self.engine.dispose()
