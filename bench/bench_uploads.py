"""Memory of receiving an upload: the streamed form reader against what the routes did before.

Run: ``python bench/bench_uploads.py [--files 10] [--mib 10]``.

One multipart body of ``--files`` files of ``--mib`` MiB each (the limits' worst case: 10 files
of 10 MiB) is fed in 64 KiB chunks, as uvicorn hands a body over, to:

- **streamed**: ``api.http.uploads.receive_form`` (each file spooled: 256 KiB in memory, the
  rest on disk), then each file read and dropped in turn, as ``accept_files`` does;
- **baseline**: Starlette's ``Request.form()`` (what FastAPI's ``File()`` parameters use), then
  every file read into memory at once, as the former ``read_uploads`` did before the files
  were checked and stored.

Python's peak traced memory (``tracemalloc``) of each, from the first chunk to the last file
read, is printed with the ratio. A third figure rejects the same body at the file-size limit
(1 MiB) and counts the chunks read before the refusal.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request

from api.db import build_engine, session_factory
from api.http.errors import ApiError
from api.http.uploads import receive_form
from api.settings import Settings
from api.state import AppState
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from telemetry.sql_store import SqlReadingStore, SqlRejectStore

CHUNK = 64 * 1024
BOUNDARY = "benchb0undary"


class Body:
    """An ASGI ``receive`` producing the multipart body chunk by chunk (never all of it)."""

    def __init__(self, files: int, size: int) -> None:
        self.files, self.size = files, size
        self.taken = 0
        self._parts = self._generate()

    def _generate(self) -> Any:
        pattern = bytes(range(256)) * (CHUNK // 256)
        for i in range(self.files):
            yield (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="p{i}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            left = self.size
            while left:
                n = min(left, CHUNK)
                yield pattern[:n]
                left -= n
            yield b"\r\n"
        yield f"--{BOUNDARY}--\r\n".encode()

    async def __call__(self) -> dict[str, Any]:
        self.taken += 1
        chunk = next(self._parts, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}


def _request(body: Body) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    return Request(scope, body)


def _state(workdir: Path, max_bytes: int, files: int) -> AppState:
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'bench.db'}",
        var_dir=workdir / "var",
        upload_max_bytes=max_bytes,
        upload_max_files_per_request=files,
        _env_file=None,
    )  # type: ignore[call-arg]
    engine = build_engine(settings.database_url)
    return AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy(),
        signing_key="b" * 40,
        readings=SqlReadingStore(engine),
        rejects=SqlRejectStore(engine, 1000),
        files=DirectoryFileStore(settings.resolved_files_dir()),
    )


async def streamed(state: AppState, body: Body) -> None:
    form = await receive_form(_request(body), state)
    try:
        for upload in form.uploads:
            data = upload.file.read()
            assert len(data) == body.size
            del data
    finally:
        form.close()


async def baseline(state: AppState, body: Body) -> None:
    form = await _request(body).form(max_files=1000)
    try:
        datas = [f.file.read() for _, f in form.multi_items() if not isinstance(f, str)]
        assert sum(map(len, datas)) == body.files * body.size
    finally:
        await form.close()


def peak(
    run: Callable[[AppState, Body], Awaitable[None]], state: AppState, body: Body
) -> tuple[int, float]:
    tracemalloc.start()
    started = time.perf_counter()
    anyio.run(run, state, body)
    elapsed = time.perf_counter() - started
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top, elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=10)
    p.add_argument("--mib", type=int, default=10)
    args = p.parse_args()
    size = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        state = _state(Path(tmp), size, args.files)
        ours, ours_s = peak(streamed, state, Body(args.files, size))
        base, base_s = peak(baseline, state, Body(args.files, size))
        mib = 1024 * 1024
        print(f"body: {args.files} files of {args.mib} MiB, fed in {CHUNK // 1024} KiB chunks")
        print(f"streamed  peak {ours / mib:8.1f} MiB  {ours_s:6.2f} s")
        print(f"baseline  peak {base / mib:8.1f} MiB  {base_s:6.2f} s")
        print(f"peak memory ratio baseline/streamed: {base / ours:.1f}x")
        small = _state(Path(tmp), 1024 * 1024, args.files)
        body = Body(args.files, size)
        try:
            anyio.run(receive_form, _request(body), small)
        except ApiError as exc:
            total = sum(1 for _ in Body(args.files, size)._generate())
            print(f"1 MiB limit: {exc.status} {exc.code} after {body.taken} of {total} chunks")
        state.engine.dispose()
        small.engine.dispose()


if __name__ == "__main__":
    main()
