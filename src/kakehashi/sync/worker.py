"""A helper process that splits and validates the pages of a large pull.

During a catch-up the syncing process is bound by one core: validating an object costs
about as much as storing it. :class:`PageWorker` moves the splitting and validation of
pulled pages into a second process (started with ``spawn``, never ``fork``: ``serve`` runs
threads), so the pulling process only stores. The worker is a pure function of the page
bodies it is sent: it holds no database connection and writes nothing. The pulling process
stays the only writer, and a pull's cursor still advances only in the transaction that
stores its objects.

Protocol (three one-way pipes): the worker says ``READY`` on the header pipe once it has
imported what it needs. For each page body it receives (in order), it splits the body and
answers at once on the header pipe with what the fetching thread needs to ask for the next
page (the envelope's members other than ``objects``, the number of objects); it then
validates the objects and sends one pickled :data:`PageResult` on the result pipe, in the
same order. It exits when the request pipe is closed, which also happens when the pulling
process dies (so a SIGKILLed hub leaves no orphan).

Whatever goes wrong with the worker (it dies, hangs, or answers something unusable), the
pages concerned are split and validated in the pulling process instead: nothing is lost
or stored twice.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kakehashi.stix.envelope import RawObject

__all__ = ["PageResult", "PageWorker", "check_page"]

# Its messages are about pulls: they go out under the pull engine's logger.
log = logging.getLogger("kakehashi.sync.engine")

READY = b"ready"
# How long the pulling process waits for a page's header, and for its result, before it
# gives up on the worker (it then splits and validates the page itself). A page takes the
# worker about 2 ms to split and 12 ms to validate.
HEADER_TIMEOUT_S = 30.0
RESULT_TIMEOUT_S = 60.0
_CLOSE_GRACE_S = 2.0

# ("ok", objects in the page, accepted, rejected): accepted as compact tuples
# (kakehashi.ingest.compact), rejected as (index in the page, id, version, reason);
# ("fallback", reason) when the page must be validated in the pulling process.
PageResult = tuple[Any, ...]


def check_page(raw_objects: Sequence[RawObject]) -> PageResult:
    """Validate one page's objects, as :meth:`Ingest.received` would."""
    from kakehashi.ingest import check_received

    checked = check_received(raw_objects)
    if checked is None:  # marking definitions that claim to be TLP: see the whole batch
        return ("fallback", "impostors")
    accepted, rejected = checked
    return ("ok", len(raw_objects), accepted, rejected)


def _split(body: bytes) -> tuple[tuple[Any, ...], list[RawObject] | None]:
    """The header for a page body, and its objects (``None``: the pulling process splits
    it itself, and gets the error or the fallback it would have got anyway)."""
    from kakehashi.stix.envelope import split_envelope

    try:
        raw_objects, others = split_envelope(body)
    except Exception:
        return ("here",), None
    if not all(isinstance(item.value, dict) for item in raw_objects):
        return ("here",), None
    chars = sum(len(item.raw) for item in raw_objects)
    return ("split", len(raw_objects), chars, others), raw_objects


def _serve(requests: Connection, headers: Connection, results: Connection) -> None:
    """The worker process: split and validate every page body until the request pipe
    closes."""
    # Ctrl-C reaches the whole process group; the pulling process decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The splitting thread must get the interpreter quickly from the validating one: the
    # fetching thread waits for its header before it asks for the next page.
    sys.setswitchinterval(0.0005)
    from kakehashi.ingest import check_received

    check_received([])  # import and build everything before saying ready
    todo: queue.SimpleQueue[list[RawObject] | None] = queue.SimpleQueue()
    answers: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def split() -> None:
        while True:
            try:
                body = requests.recv_bytes()
            except (EOFError, OSError):
                break
            header, raw_objects = _split(body)
            try:
                headers.send_bytes(pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:
                break
            if raw_objects is not None:
                todo.put(raw_objects)
        todo.put(None)

    def send() -> None:
        # A thread of its own, so that validating the next page never waits for the
        # pulling process to read the previous answer.
        while (answer := answers.get()) is not None:
            try:
                results.send_bytes(answer)
            except OSError:  # the pulling process is gone or gave up on us
                return

    threads = [
        threading.Thread(target=split, name="page-split", daemon=True),
        threading.Thread(target=send, name="page-results", daemon=True),
    ]
    try:
        headers.send_bytes(READY)
    except OSError:  # the pulling process is gone (or done) before we were ready
        return
    for thread in threads:
        thread.start()
    while (raw_objects := todo.get()) is not None:
        try:
            answer: PageResult = check_page(raw_objects)
        except Exception as exc:  # never crash on a page: the pulling process takes it
            answer = ("fallback", f"{type(exc).__name__}: {exc}")
        answers.put(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    answers.put(None)


class PageWorker:
    """The pulling process's handle on one worker process (started on demand).

    :meth:`split` is called by the thread that fetches pages (it is a
    :data:`~kakehashi.sync.client.Splitter`), :meth:`result` by the one that stores them,
    once for each page that :meth:`split` took, in the same order. :meth:`close` ends the
    worker; it is safe to call at any time and more than once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._requests: Connection | None = None
        self._headers: Connection | None = None
        self._results: Connection | None = None
        self._ready = False
        self._failed = False
        self._closed = False

    @property
    def started(self) -> bool:
        return self._process is not None or self._failed

    def start(self) -> None:
        """Start the process. It takes about 0.3 s to be ready; until then :meth:`split`
        declines pages, which are split and validated in the pulling process meanwhile."""
        with self._lock:
            if self._process is not None or self._closed or self._failed:
                return
            context = multiprocessing.get_context("spawn")
            pipes = [context.Pipe(duplex=False) for _ in range(3)]  # (reader, writer) each
            (request_reader, request_writer), (header_reader, header_writer) = pipes[:2]
            result_reader, result_writer = pipes[2]
            process = context.Process(
                target=_serve,
                args=(request_reader, header_writer, result_writer),
                name="kakehashi-pull-worker",
                daemon=True,  # multiprocessing ends it at exit if it is still running
            )
            try:
                process.start()
            except Exception as exc:
                log.warning("could not start the pull worker process, validating here: %s", exc)
                self._failed = True
                for reader, writer in pipes:
                    reader.close()
                    writer.close()
                return
            # Only the worker keeps these ends, so that it sees EOF when we go.
            for conn in (request_reader, header_writer, result_writer):
                conn.close()
            self._process = process
            self._requests, self._headers, self._results = (
                request_writer,
                header_reader,
                result_reader,
            )
        log.info("large pull: pages are split and validated in process %s", process.pid)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the started worker is ready (or ``timeout`` seconds); whether it is."""
        with self._lock:
            headers = self._headers
            if self._ready or self._failed or self._closed or headers is None:
                return self._ready
            try:
                if headers.poll(timeout) and headers.recv_bytes() == READY:
                    self._ready = True
            except (OSError, EOFError) as exc:
                self._fail(f"{type(exc).__name__}: {exc}")
            return self._ready

    def split(self, body: bytes) -> tuple[int, int, dict[str, Any]] | None:
        """Hand a page body to the worker: ``(objects, characters, the envelope's other
        members)`` once it has split it, or ``None`` if it does not take the page (not
        ready yet, failed, or the body needs a closer look): the pulling process then
        splits and validates it itself, and no result will come for it."""
        with self._lock:
            requests, headers = self._requests, self._headers
            if self._closed or self._failed or requests is None or headers is None:
                return None
            try:
                if not self._ready:
                    if not headers.poll(0):
                        return None
                    if headers.recv_bytes() != READY:
                        raise OSError("the worker did not say it was ready")
                    self._ready = True
                requests.send_bytes(body)
                if not headers.poll(HEADER_TIMEOUT_S):
                    raise TimeoutError(f"no answer in {HEADER_TIMEOUT_S:.0f} s")
                header = pickle.loads(headers.recv_bytes())  # noqa: S301 - our own child
                if header[0] == "here":
                    return None
                _, count, chars, others = header
            except Exception as exc:  # EOF (it died), OSError, a broken answer
                self._fail(f"{type(exc).__name__}: {exc}")
                return None
            return int(count), int(chars), dict(others)

    def result(self) -> PageResult | None:
        """The result for the next submitted page, or ``None`` if the worker failed (the
        page must then be validated in the pulling process)."""
        results = self._results
        if self._failed or results is None:
            return None
        try:
            if not results.poll(RESULT_TIMEOUT_S):
                raise TimeoutError(f"no answer in {RESULT_TIMEOUT_S:.0f} s")
            answer = pickle.loads(results.recv_bytes())  # noqa: S301 - our own child
        except Exception as exc:  # EOF (it died), OSError, a broken answer
            self._fail(f"{type(exc).__name__}: {exc}")
            return None
        if not isinstance(answer, tuple) or not answer:
            self._fail("an unusable answer")
            return None
        return answer

    def _fail(self, reason: str) -> None:
        if not self._failed and not self._closed:
            log.warning("the pull worker process failed (%s); validating here instead", reason)
        self._failed = True
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def close(self) -> None:
        """End the worker: closing the pipes makes it exit; it is killed if it does not
        within a short grace period."""
        self._closed = True
        process = self._process
        if process is None:
            return
        if not self._lock.acquire(timeout=_CLOSE_GRACE_S):
            process.kill()  # a send to a hung worker fails, and releases the lock
            self._lock.acquire()
        try:
            for conn in (self._requests, self._headers, self._results):
                if conn is not None:
                    conn.close()
            self._requests = self._headers = self._results = None
        finally:
            self._lock.release()
        process.join(_CLOSE_GRACE_S)
        if process.exitcode is None:
            process.terminate()
            process.join(_CLOSE_GRACE_S)
        if process.exitcode is None:
            process.kill()
            process.join()
        process.close()
        self._process = None
