"""A local model mirror for tests: a real HTTP server on 127.0.0.1 that serves a folder, honours
`Range: bytes=N-`, logs every request, and can drop the connection half way through a file once."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.drop_once: set[str] = set()  # paths whose first GET is cut half way
        self._thread = threading.Thread(target=self.serve_forever, name="mirror", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def ranges(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]

    def __enter__(self) -> MirrorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    server: MirrorServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _file(self) -> Path | None:
        rel = PurePosixPath(unquote(urlsplit(self.path).path).lstrip("/"))
        if not rel.parts or ".." in rel.parts:
            return None
        path = self.server.root.joinpath(*rel.parts)
        return path if path.is_file() else None

    def do_GET(self) -> None:
        url_path = urlsplit(self.path).path
        rng = self.headers.get("Range")
        self.server.requests.append((url_path, rng))
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            start = int(m.group(1)) if m else 0
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if url_path in self.server.drop_once:
            self.server.drop_once.discard(url_path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)
