"""Start-up shared by the REST API and the in-process MCP server: load the model and warm up the default
database off the request path, so the server answers health checks (and an editor's handshake) at once."""

from __future__ import annotations

import logging
import threading

from service.errors import LLMUnavailable, ModelLoading, RagsqlError, error_body
from service.pipeline import AskPipeline
from service.runtime import Runtime

log = logging.getLogger("ragsql.startup")


class PipelineLoader:
    """`start()` prepares in a thread: indexes the default database first when asked to and it never was
    (a fresh set-up answers at once), then loads the model and evaluates the default database's prompt prefix.
    `pipeline()` answers at once: the pipeline, or why there is none yet (ModelLoading, LLMUnavailable)."""

    def __init__(self, runtime: Runtime, index_if_missing: bool = False) -> None:
        self.rt = runtime
        self.index_if_missing = index_if_missing
        self.indexed = threading.Event()  # the start-up indexing is over (done, failed or not needed)
        self.loaded = threading.Event()  # the pipeline or the reason for its absence is known
        self._pipeline: AskPipeline | None = None
        self._error: RagsqlError | None = None

    def start(self) -> None:
        threading.Thread(target=self._prepare, name="ragsql-start-up", daemon=True).start()

    def _prepare(self) -> None:
        db = self.rt.settings.default_db
        try:
            for warning in self.rt.database(db).privilege_warnings():
                log.warning("database '%s': %s", db, warning)
        except Exception as exc:  # unreachable now: the requests that need it will say so
            log.warning("could not check the privileges on '%s': %s", db, error_body(exc)["message"])
        try:
            if self.index_if_missing and db not in self.rt.store.indexes():
                log.info("indexing '%s' (not indexed yet)", db)
                self.rt.index(db)
        except Exception as exc:  # asked again by the first request, which reports it
            log.warning("could not index '%s': %s", db, error_body(exc)["message"])
        finally:
            self.indexed.set()
        try:
            pipeline = AskPipeline(self.rt)
        except Exception as exc:
            log.error("the model could not be loaded: %s", exc)
            self._error = LLMUnavailable(f"the model could not be loaded: {exc}")
            self.loaded.set()
            return
        if self.rt.settings.warm_up:
            try:
                pipeline.warm_up(db)
            except Exception:  # e.g. not indexed yet: its first question warms it up instead
                log.warning("warm-up of '%s' skipped", db, exc_info=True)
        self._pipeline = pipeline
        self.loaded.set()

    @property
    def ready(self) -> bool:
        return self._pipeline is not None

    def pipeline(self) -> AskPipeline:
        if self._pipeline is not None:
            return self._pipeline
        if self._error is not None:
            raise self._error
        raise ModelLoading("the model is still loading")

    def wait(self) -> AskPipeline:
        self.loaded.wait()
        return self.pipeline()
