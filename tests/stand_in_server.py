"""A real uvicorn serving the real app, with the stand-in model (tests/stand_in.py) instead of the LLM: for
tests that drive the HTTP surface of a separate process many times (schemathesis, faults), where what the model
writes is not under test and the real one would cost seconds an answer. Everything else is real and configured
as `ragsql serve` is (RAGSQL_* variables); the default database is indexed first.

    python -m tests.stand_in_server
"""

from __future__ import annotations

import uvicorn

from service.api import create_app
from service.runtime import Runtime
from service.settings import Settings
from tests.stand_in import StandInLLM


def main() -> None:
    settings = Settings()
    rt = Runtime(settings, llm=StandInLLM())
    try:
        rt.index(settings.default_db)
        uvicorn.run(create_app(runtime=rt), host=settings.host, port=settings.port, log_level="warning")
    finally:
        rt.close()


if __name__ == "__main__":
    main()
