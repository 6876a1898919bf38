"""ASGI middleware: request ids + access log + metrics, and the streaming body limit."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sensorium import metrics
from sensorium.api.envelope import error_body, public_message
from sensorium.errors import ErrorCode, SensoriumError, storage_full
from sensorium.logs import request_id_var
from sensorium.store.database import DATABASE_RETRY_AFTER, unavailable_reason

log = logging.getLogger("sensorium.access")


def database_unavailable(exc: BaseException) -> SensoriumError | None:
    """503 SERVICE_UNAVAILABLE (+ Retry-After) for a database that cannot answer now, else None."""
    reason = unavailable_reason(exc)
    if reason is None:
        return None
    return SensoriumError(ErrorCode.SERVICE_UNAVAILABLE, f"The database cannot answer right now ({reason}); "
                          "retry shortly.", headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


class RequestContextMiddleware:
    """Gives every request an id (or keeps a sane incoming `X-Request-ID`), logs it, counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum() \
            else uuid.uuid4().hex[:16]
        token = request_id_var.set(rid)
        status_holder = {"status": 500, "started": False}
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"], status_holder["started"] = message["status"], True
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # a bug: answer 500 once, log it once, keep the connection alive
            if status_holder["started"]:
                raise
            err = storage_full(exc) or database_unavailable(exc)  # the server's state, not a bug: documented
            if err is not None:
                log.warning("%s on %s %s: %s", err.code.value, scope.get("method"), scope.get("path"), exc)
            else:
                log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
                err = SensoriumError(ErrorCode.PROCESSING_FAILED, f"Internal error ({type(exc).__name__}); "
                                     f"the request id {rid} identifies it in the server log.", status=500)
            headers = [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
            await _send_json(send_wrapper, err.status, openai_or_envelope(scope.get("path", ""), err), headers)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.observe_request(scope.get("method", ""), template, status_holder["status"], elapsed)
            log.info("%s %s -> %s in %.1f ms", scope.get("method"), scope.get("path"),
                     status_holder["status"], elapsed * 1000)
            request_id_var.reset(token)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Cuts a request body off at its route's limit while it streams in.

    Nothing past the limit is read, so nothing past it is held in memory or spooled to disk.
    A declared Content-Length over the limit is refused before reading anything.
    `limit_for(path)` gives the byte limit for a path (None: no body expected/limited by default).
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def _reject(self, send: Send, limit: int, path: str) -> None:
        exc = SensoriumError(
            ErrorCode.FILE_TOO_LARGE,
            f"Request body exceeds the {limit / 1024 / 1024:.0f} MB limit for {path}; upload cut off.",
            details={"limit_bytes": limit},
        )
        body = json.dumps(openai_or_envelope(path, exc)).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limit_for(path)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit, path)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's own error response is replaced by ours
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            metrics.UPLOAD_REJECTED.inc()
            await self._reject(send, limit, path)


async def _send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


def openai_or_envelope(path: str, exc: SensoriumError) -> dict:
    """OpenAI-compatible paths answer errors in OpenAI's shape; everything else in the envelope."""
    if path.startswith("/v1/"):
        return openai_error(exc)
    return error_body(exc)


def openai_error(exc: SensoriumError) -> dict:
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    return {"error": {"message": public_message(exc.message), "type": kind, "param": exc.details.get("param"),
                      "code": exc.code.value.lower()}}


async def deny(send: Send, path: str, exc: SensoriumError) -> None:
    """Answer a refused request with the error (envelope or OpenAI shape) and its headers."""
    body = json.dumps(openai_or_envelope(path, exc)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


#: Paths open without a key: health checks, docs, metrics.
OPEN_PATHS = ("/api/health", "/health", "/docs", "/redoc", "/openapi.json", "/metrics", "/favicon.ico")


class AccessMiddleware:
    """Optional API keys (API_KEYS) and a per-client request rate limit (RATE_LIMIT_PER_MINUTE)."""

    def __init__(self, app: ASGIApp, keys: list[str], per_minute: int) -> None:
        self.app = app
        self.keys = {k for k in keys if k}
        self.per_minute = per_minute
        self._hits: dict[str, list[float]] = {}

    async def _deny(self, send: Send, path: str, exc: SensoriumError) -> None:
        await deny(send, path, exc)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or path.startswith(OPEN_PATHS) \
                or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        key = headers.get(b"x-api-key", b"").decode("latin-1") or (
            auth[7:].strip() if auth.lower().startswith("bearer ") else "")
        if self.keys and key not in self.keys:
            await self._deny(send, path, SensoriumError(
                ErrorCode.UNAUTHORIZED,
                "A valid API key is required: send `Authorization: Bearer KEY` or `X-API-Key: KEY`.",
                headers={"WWW-Authenticate": "Bearer"}))
            return
        if self.per_minute:
            client = key or (scope.get("client") or ("?", 0))[0]
            now = time.monotonic()
            hits = [t for t in self._hits.get(client, []) if now - t < 60.0]
            if len(hits) >= self.per_minute:
                retry = max(1, int(60 - (now - hits[0])) + 1)
                self._hits[client] = hits
                await self._deny(send, path, SensoriumError(
                    ErrorCode.RATE_LIMITED,
                    f"More than {self.per_minute} requests in a minute; retry in {retry}s.",
                    headers={"Retry-After": str(retry)}))
                return
            hits.append(now)
            self._hits[client] = hits
        await self.app(scope, receive, send)
