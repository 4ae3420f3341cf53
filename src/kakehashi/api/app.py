"""``create_app()``: assemble the hub's ASGI application from settings and a store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kakehashi.api.errors import handle_exception
from kakehashi.api.taxii import TaxiiApi
from kakehashi.config import Settings
from kakehashi.errors import HubError
from kakehashi.store import Store
from kakehashi.sync import ChangeNotifier, SyncRunner

__all__ = ["create_app"]

log = logging.getLogger("kakehashi.access")


class _AccessLog:
    """One INFO line per request: method, path, status, account, duration.

    Query strings are logged (they hold filters, never secrets); headers and bodies never.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            log.info(
                "%s %s%s %d %s %.1fms",
                scope["method"],
                scope["path"],
                f"?{query}" if query else "",
                status,
                scope.get("kakehashi.account", "-"),
                (time.perf_counter() - started) * 1000,
            )


def create_app(
    settings: Settings,
    store: Store,
    *,
    manage_store: bool = True,
    sync: bool = False,
    environ: Mapping[str, str] | None = None,
    notifier: ChangeNotifier | None = None,
) -> ASGIApp:
    """Build the hub's ASGI application.

    Args:
        settings: the validated configuration.
        store: the storage backend.
        manage_store: open the store when the server starts and close it when it stops
            (the ASGI lifespan); pass ``False`` when the caller manages it (tests).
        sync: run federation with the configured peers in the background while serving.
        environ: where peer tokens are read from (default: the process environment).
        notifier: change notifications shared with the server (``serve`` closes it on
            SIGTERM so that long-polls end at once).
    """
    notifier = notifier or ChangeNotifier()
    taxii = TaxiiApi(settings, store, notifier=notifier)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        notifier.bind_loop(asyncio.get_running_loop())
        if manage_store:
            await run_in_threadpool(store.open)
        runner: SyncRunner | None = None
        try:
            if sync and settings.peers:
                runner = SyncRunner(settings, store, notifier=notifier, environ=environ)
                runner.start()
            yield
        finally:
            if runner is not None:
                await run_in_threadpool(runner.stop)
            if manage_store:
                await run_in_threadpool(store.close)

    app = Starlette(
        routes=taxii.routes(),
        lifespan=lifespan,
        # HubError and HTTPException are answered by the exception middleware; anything else
        # reaches ServerErrorMiddleware, which answers with the same TAXII 500 body.
        exception_handlers={
            HubError: handle_exception,
            HTTPException: handle_exception,
            Exception: handle_exception,
        },
    )
    return _AccessLog(app)
