"""``nnexp dashboard STUDY``: optuna-dashboard over the study's storage, on this machine only.

optuna-dashboard (the optional extra ``dashboard``) is Optuna's own web UI: optimisation
history, importances, parallel coordinates, per-trial values named after the study's metrics
(``nnexp.stores.study_storage.name_metrics``). nnexp serves its WSGI app (``optuna_dashboard.
wsgi``) on 127.0.0.1 over the storage nnexp opens itself, so that anything the dashboard writes
(notes, a study renamed or deleted) goes through the journal lock nnexp's workers take
(``journal_lock``), not the dashboard's own. The page opened is the study's.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from nnexp.errors import NnexpError

HOST = "127.0.0.1"
"""Loopback only: the dashboard has no login and can delete studies."""
DEFAULT_PORT = 8080
INSTALL = "pip install 'nnexp[dashboard]' (or pip install optuna-dashboard)"


@dataclass
class Dashboard:
    """A dashboard bound to ``HOST``: its server, and the URL of the study's page."""

    server: WSGIServer
    url: str

    def serve(self) -> None:
        """Answer requests until Ctrl-C or SIGTERM, then close the socket."""
        def on_signal(signum, frame):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.server.server_close()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


def dashboard_app(storage):
    """optuna-dashboard's WSGI app over ``storage`` (an Optuna storage object); raises
    ``NnexpError`` naming the extra when optuna-dashboard is not installed."""
    try:
        import optuna_dashboard
    except ImportError:
        raise NnexpError(f"nnexp dashboard needs optuna-dashboard, an optional extra: "
                         f"{INSTALL}.") from None
    return optuna_dashboard.wsgi(storage)


def start_dashboard(study: str, storage_url: str | None = None,
                    port: int = DEFAULT_PORT) -> Dashboard:
    """Bind optuna-dashboard for study ``study`` (in ``storage_url``; None: the default
    journal) to ``HOST:port`` (0: any free port). Raises ``NnexpError`` for an unknown study
    or storage, a port in use, or optuna-dashboard missing."""
    from nnexp.library_internals import storage_of
    from nnexp.stores.queries import load_study

    found = load_study(study, storage_url)
    storage = storage_of(found)
    app = dashboard_app(storage)
    try:
        server = make_server(HOST, port, app, handler_class=_Quiet)
    except OSError as err:
        raise NnexpError(f"cannot listen on {HOST}:{port}: {err.strerror or err} (another "
                         "dashboard or program may be using the port). Pass another --port, "
                         "or stop what uses it.") from None
    study_id = storage.get_study_id_from_name(study)
    return Dashboard(server, f"http://{HOST}:{server.server_port}/dashboard/studies/{study_id}")
