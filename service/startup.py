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
    `pipeline()` answers at once: the pipeline, or why there is none yet (ModelLoading, LLMUnavailable).

    A model that is unavailable (its file missing, its server down) is tried again every `retry_s` until it
    loads or `stop()`, so the service recovers without a restart when it comes back. Any other failure (a
    broken file) stays until a restart: loading it again would fail the same way, at the same cost."""

    def __init__(self, runtime: Runtime, index_if_missing: bool = False, retry_s: float = 15.0) -> None:
        self.rt = runtime
        self.index_if_missing = index_if_missing
        self.retry_s = retry_s
        self.indexed = threading.Event()  # the start-up indexing is over (done, failed or not needed)
        self.loaded = threading.Event()  # the pipeline or the reason for its absence is known
        self._stopped = threading.Event()
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
        while not self._load() and not self._stopped.wait(self.retry_s):
            pass

    def _load(self) -> bool:
        """Build the pipeline (loading the model) and warm it up. False when the model is to be tried again."""
        try:
            pipeline = AskPipeline(self.rt)
        except Exception as exc:
            again = isinstance(exc, LLMUnavailable)
            error = LLMUnavailable(f"the model could not be loaded: {exc}")
            if str(error) != str(self._error):  # logged once, not at every attempt
                log.error("%s%s", error, f"; trying again every {self.retry_s:g} s" if again else "")
            self._error = error
            self.loaded.set()
            return not again
        db = self.rt.settings.default_db
        if self.rt.settings.warm_up:
            try:
                pipeline.warm_up(db)
            except Exception:  # e.g. not indexed yet: its first question warms it up instead
                log.warning("warm-up of '%s' skipped", db, exc_info=True)
        self._pipeline = pipeline
        self.loaded.set()
        return True

    def stop(self) -> None:
        """No more attempts at loading the model (the server is stopping)."""
        self._stopped.set()

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
