"""The running server's admin endpoint for the command line on the same machine.

`toshi key create`, `toshi policy add`... change what a running server holds in memory (its API keys,
its rules) and, on SQLite, in a file only one process may own. So while a server runs, such a command
is sent here and run by the server itself, on its own open store: the server's caches see the change
at once and nothing else writes the file. The command authenticates with the token the server wrote
at start into its data directory, readable only by the user it runs as (`ops/admin.token`, 0600).

A command runs while the event loop waits for it (in a thread, so that commands which start their own
event loop work): no request's transaction can interleave with it, as if the server were stopped for
the few milliseconds a management command takes. Commands run one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import os
import threading
import time
from collections.abc import Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi import __version__
from toshi.ops.status import town_figures

TOKEN_HEADER = "toshi-admin-token"
_one_at_a_time = threading.Lock()


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _refused(request: Request) -> Response | None:
    ops = request.app.state.ops
    given = request.headers.get(TOKEN_HEADER, "")
    if not ops.admin_token or not hmac.compare_digest(given.encode(), ops.admin_token.encode()):
        return _json({"error": "Unauthorized", "description": "the admin token of this server's data "
                      "directory is needed (ops/admin.token)"}, 401)
    return None


async def status(request: Request) -> Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    return _json(_status(request))


async def status_for_admins(request: Request) -> Response:
    """`toshi status` for the admin console (GET /admin/ops/status): under /admin/, so the request gate
    lets only an administrator of every tenant through, instead of the data directory's token."""
    return _json(_status(request))


def _status(request: Request) -> dict:
    services, ops = request.app.state.toshi, request.app.state.ops
    return {"version": __version__, "pid": os.getpid(), "started": ops.started,
            "uptime": time.time() - ops.started, **town_figures(services.store, services.settings.data_dir)}


async def command(request: Request) -> Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    ops = request.app.state.ops
    if ops.command_parser is None:
        return _json({"error": "NotAvailable", "description": "this server does not run management commands"}, 409)
    body = orjson.loads(await request.body())
    argv, cwd = [str(a) for a in body.get("argv", [])], body.get("cwd")
    answer = run_blocking(ops.command_parser, argv, cwd)
    await asyncio.sleep(0)  # let what the command woke (the notifier, caches) run before answering
    return _json(answer)


def run_blocking(make_parser: Callable, argv: list[str], cwd: str | None) -> dict:
    """Run one command line while this thread (the event loop's) waits for it."""
    answer: dict = {}
    with _one_at_a_time:
        worker = threading.Thread(target=_run, args=(make_parser, argv, cwd, answer), name="toshi-admin")
        worker.start()
        worker.join()
    return answer


def _run(make_parser: Callable, argv: list[str], cwd: str | None, answer: dict) -> None:
    from toshi.ops.errors import explain

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if cwd:
                with contextlib.suppress(OSError):  # relative paths of the command mean the caller's
                    os.chdir(cwd)
            args = make_parser().parse_args(argv)
            code = args.run(args)
        except SystemExit as exc:  # argparse refused the arguments (it printed why)
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:
            print(f"toshi: {explain(exc)}", file=err)
            code = 1
        finally:
            os.chdir(here)
    answer.update(code=code or 0, stdout=out.getvalue(), stderr=err.getvalue())
