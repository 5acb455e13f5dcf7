"""The `ragsql` command: the service's commands plus `eval` and `mcp`. It sits above every layer, so that
none of them imports another one above it."""

from eval.cli import app as eval_app
from mcp_server.cli import app as mcp_app
from service.cli import app

app.add_typer(eval_app, name="eval")
app.add_typer(mcp_app, name="mcp")

if __name__ == "__main__":
    app()
