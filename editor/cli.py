"""The ``editor`` command."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from editor import __version__, logs
from editor.auth.mail import parse_smtp_url
from editor.config import POSTGRES_SCHEMES, Config, ConfigError, load, redact_url
from editor.gc_tuning import tune_for_serving

if TYPE_CHECKING:
    from editor.archive import Archive
    from editor.failover.tools import Tools


def startup_banner(http_url: str, ws_url: str, data_dir: Path, smtp_url: str,
                   metrics_url: str = "") -> str:
    """The one block ``editor serve`` prints once it listens: where everything is."""
    if smtp_url:
        target = parse_smtp_url(smtp_url)
        mail = f"sent through SMTP at {target.host}:{target.port}"
    else:
        mail = f"{data_dir / 'outbox'}  (no EDITOR_SMTP_URL: emails are saved there as .eml)"
    rows: tuple[tuple[str, str], ...] = (("Open in a browser", f"{http_url.rstrip('/')}/"),
            ("WebSocket", f"{ws_url}  (clients append /v1/docs/{{id}}/ws)"),
            ("Data directory", str(data_dir)),
            ("Mail", mail))
    if metrics_url:
        rows += (("Metrics", f"{metrics_url}  (this machine only; EDITOR_METRICS_PORT)"),)
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"editor {__version__} is running", ""]
    lines += [f"  {label + ':':<{width}}{value}" for label, value in rows]
    lines += ["", "Press Ctrl+C to stop (queued edits are saved, open sessions are closed)."]
    return "\n".join(lines)


def _serve(args: argparse.Namespace) -> int:
    from editor.serve import Endpoints, serve

    cfg = load(host=args.host, http_port=args.port, ws_port=args.ws_port, data_dir=args.data_dir)
    logs.configure(cfg.log_level)

    data_dir = Path(cfg.data_dir).resolve()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            endpoints: Endpoints = await nursery.start(serve, cfg)
            tune_for_serving()
            print(startup_banner(endpoints.http_url, endpoints.ws_url, data_dir, cfg.smtp_url,
                                 endpoints.metrics_url), flush=True)

    trio.run(main)
    return 0


def _run(args: argparse.Namespace) -> int:
    from editor.services import service_spec
    from editor.services.runner import run_service

    spec = service_spec(args.service)
    if args.ws_port is not None and not spec.websocket:
        raise ConfigError(f"--ws-port applies to the collaboration service, not {args.service}")
    cfg = load(host=args.host, http_port=args.port, ws_port=args.ws_port, data_dir=args.data_dir)
    logs.configure(cfg.log_level)
    trio.run(partial(run_service, args.service, cfg, tune_gc=True))
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    from editor.auth.keys import rotate

    cfg = load(data_dir=args.data_dir)
    if args.keep < 0:
        raise ConfigError("--keep must not be negative")
    if cfg.jwt_secret:
        print("editor: EDITOR_JWT_SECRET is set, so the key file is not used; rotate by moving"
              " the old secret to EDITOR_JWT_PREVIOUS_SECRETS (see docs/operations.md)",
              file=sys.stderr)
        return 2
    new_kid, dropped = rotate(Path(cfg.data_dir), keep_previous=args.keep)
    print(f"new signing key {new_kid} in {Path(cfg.data_dir).resolve() / 'jwt.key'}")
    if dropped:
        print(f"dropped old keys: {', '.join(dropped)} (their tokens no longer verify)")
    print("Restart every `editor serve` on this data directory to start signing with it;"
          " tokens signed with the kept keys stay valid until they expire.")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    cfg = load(data_dir=args.data_dir)
    url = cfg.effective_database_url
    if not url.startswith(POSTGRES_SCHEMES):
        from editor.store.sqlite import SqliteStore

        async def open_sqlite() -> None:
            store = await SqliteStore.open(url)
            await store.close()

        trio.run(open_sqlite)
        print(f"{url}: the SQLite schema is applied when the database opens; it is up to date")
        return 0
    from editor.store.postgres import opened_postgres_store
    from editor.store.records import Unavailable

    def progress(label: str, elapsed_ms: float) -> None:
        print(f"applied {label} ({elapsed_ms:.0f} ms)", flush=True)

    async def run() -> int:
        async with opened_postgres_store(url, apply_migrations=False) as store:
            print(f"migrating {redact_url(url)}", flush=True)
            report = await store.migrate(progress)
        applied = len(report.applied)
        print(f"schema at version {report.version}"
              f" ({applied} migration{'' if applied == 1 else 's'} applied"
              f"{', already up to date' if not applied else ''})")
        if report.version > report.newest_known:
            print(f"note: the database is newer than this build (which knows up to version"
                  f" {report.newest_known})")
        return 0

    try:
        return trio.run(run)
    except Unavailable as exc:
        print(f"editor: migration failed: {exc}", file=sys.stderr)
        return 1


def _rejoin(args: argparse.Namespace) -> int:
    from editor.failover.cluster import parse_cluster_url
    from editor.failover.rejoin import RejoinFailed, rejoin
    from editor.failover.tools import Tools, find_bindir

    cfg = load()
    logs.configure(cfg.log_level)
    if not cfg.effective_database_url.startswith(POSTGRES_SCHEMES):
        raise ConfigError("EDITOR_DATABASE_URL must list the PostgreSQL nodes"
                          " (postgresql://USER@HOST:PORT,HOST:PORT,…/DB)")
    cluster = parse_cluster_url(cfg.effective_database_url)
    tools = Tools(find_bindir(cfg.postgres_bindir), cluster.password)
    try:
        done = trio.run(partial(rejoin, tools, cluster, args.pgdata.resolve(),
                                start=args.start, log_file=args.log))
    except RejoinFailed as exc:
        print(f"editor: rejoin failed: {exc}", file=sys.stderr)
        return 1
    print(done.rewind_output.strip() or "pg_rewind: done")
    print(f"{args.pgdata} is now a standby of {done.primary}"
          + ("; started" if done.started else "; start it (pg_ctl start) to stream"))
    return 0


def _postgres_tools(cfg: Config, url: str, what: str) -> Tools:
    from editor.failover.tools import Tools, find_bindir

    if not url.startswith(POSTGRES_SCHEMES):
        raise ConfigError(f"{what} needs a PostgreSQL database: set EDITOR_DATABASE_URL to"
                          " postgresql://… (SQLite: sqlite3 data/editor.db \".backup FILE\")")
    return Tools(find_bindir(cfg.postgres_bindir))


def _archive_command(args: argparse.Namespace, what: str, action: object) -> int:
    """Run ``action(cfg, archive)`` (an async function) with the config's archive."""
    from editor.archive import ArchiveUnavailable
    from editor.backups import BackupFailed, opened_archive

    cfg = load(data_dir=args.data_dir)
    logs.configure(cfg.log_level)

    async def run() -> int:
        async with opened_archive(cfg) as archive:
            return await action(cfg, archive)  # type: ignore[operator, no-any-return]

    try:
        return trio.run(run)
    except ConfigError:
        raise
    except (BackupFailed, ArchiveUnavailable, ValueError) as exc:
        print(f"editor: {what} failed: {exc}", file=sys.stderr)
        return 1


def _backup(args: argparse.Namespace) -> int:
    from editor.backups import take_backup

    async def action(cfg: Config, archive: Archive) -> int:
        url = cfg.effective_database_url
        key = await take_backup(_postgres_tools(cfg, url, "editor backup"),
                                url, archive)
        print(key)
        return 0

    return _archive_command(args, "backup", action)


def _restore_backup(args: argparse.Namespace) -> int:
    from editor.backups import restore_backup

    async def action(cfg: Config, archive: Archive) -> int:
        url = args.database_url or cfg.effective_database_url
        await restore_backup(_postgres_tools(cfg, url, "editor restore-backup"),
                             url, archive, args.key)
        print(f"restored {args.key} into {redact_url(url)}")
        return 0

    return _archive_command(args, "restore", action)


def _wal_archive(args: argparse.Namespace) -> int:
    from editor.backups import archive_wal

    async def action(cfg: Config, archive: Archive) -> int:
        await archive_wal(archive, args.path, args.name)
        return 0

    return _archive_command(args, "WAL archiving", action)


def _base_backup(args: argparse.Namespace) -> int:
    from editor.backups import take_base_backup

    async def action(cfg: Config, archive: Archive) -> int:
        url = cfg.effective_database_url
        key = await take_base_backup(_postgres_tools(cfg, url, "editor base-backup"),
                                     url, archive)
        print(key)
        return 0

    return _archive_command(args, "base backup", action)


def _restore_pitr(args: argparse.Namespace) -> int:
    from editor.backups import prepare_pitr
    from editor.backups.pitr import start_server
    from editor.failover.tools import Tools, find_bindir

    async def action(cfg: Config, archive: Archive) -> int:
        pgdata = args.pgdata.resolve()
        prepared = await prepare_pitr(archive, args.base, args.target_time, pgdata,
                                      port=args.port)
        print(f"{pgdata}: base backup {args.base} and {prepared.wal_files} WAL files, replaying"
              f" to {prepared.target_time}")
        if args.start:
            tools = Tools(find_bindir(cfg.postgres_bindir))
            await start_server(tools, pgdata, args.log or pgdata.parent / f"{pgdata.name}.log")
            print("started: it replays to the target, then opens for writes"
                  " (SELECT pg_is_in_recovery() turns false)")
        else:
            print(f"start it with: pg_ctl start -D {pgdata}")
        return 0

    return _archive_command(args, "point-in-time restore", action)


def _service_summaries() -> dict[str, str]:
    from editor.services import SERVICES

    return {name: spec.summary for name, spec in SERVICES.items()}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``editor``."""
    parser = argparse.ArgumentParser(
        prog="editor", description="A real-time collaborative text editor.",
        epilog="Settings also come from EDITOR_* environment variables (see docs/operations.md).")
    parser.add_argument("--version", action="version", version=f"editor {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run everything in one process on embedded defaults (SQLite, a folder)",
        description="Run the web page, REST API, WebSocket collaboration, the reconciler and"
        " the archiver in one process.")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000; 0 picks a free one)")
    serve.add_argument("--ws-port", type=int,
                       help="WebSocket port (default 8001; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="where the database lives (default ./data)")
    serve.epilog = ("/metrics is not on the HTTP port: it listens on 127.0.0.1 at"
                    " EDITOR_METRICS_PORT (default 0: a free port, printed at start).")
    serve.set_defaults(run=_serve)
    run = commands.add_parser(
        "run", help="run one service of a distributed deployment",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one part of the editor (PROTOCOL.md §6). Every service answers"
        " /healthz, /readyz and /metrics on its HTTP port; keep that port inside the cluster."
        " Services share the database (EDITOR_DATABASE_URL) and the event stream"
        " (EDITOR_KAFKA_BOOTSTRAP; unset, each process has its own in-process stream and the"
        " workers see nothing of the others' events).",
        epilog="services:\n" + "\n".join(
            f"  {name:<14}{spec}" for name, spec in _service_summaries().items()))
    run.add_argument("service", metavar="SERVICE", help="one of: "
                     + ", ".join(_service_summaries()))
    run.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="HTTP port: the service's routes, /healthz,"
                     " /readyz and /metrics (default 8000; 0 picks a free one)")
    run.add_argument("--ws-port", type=int, help="WebSocket port of the collaboration"
                     " service (default 8001; 0 picks a free one)")
    run.add_argument("--data-dir", type=Path, help="the SQLite database (when"
                     " EDITOR_DATABASE_URL is unset), the archive folder and the signing key"
                     " (default ./data)")
    run.set_defaults(run=_run)
    migrate = commands.add_parser(
        "migrate", help="apply the database schema (services also do it at start)",
        description="Apply the schema migrations EDITOR_DATABASE_URL lacks, under a lock so"
        " that several replicas may run it together.")
    migrate.add_argument("--data-dir", type=Path, help="where the SQLite database lives"
                         " when EDITOR_DATABASE_URL is unset (default ./data)")
    migrate.set_defaults(run=_migrate)
    rotate = commands.add_parser(
        "rotate-key", help="start a new access-token signing key in the data directory",
        description="Prepend a new secret to DATA_DIR/jwt.key. Restart the server afterwards;"
        " access tokens signed with the kept older keys stay valid until they expire.")
    rotate.add_argument("--data-dir", type=Path, help="the server's data directory"
                        " (default ./data)")
    rotate.add_argument("--keep", type=int, default=1, metavar="N",
                        help="older keys to keep accepting (default 1; 0 logs everyone out)")
    rotate.set_defaults(run=_rotate_key)
    _add_failover_commands(commands)
    _add_backup_commands(commands)
    return parser


def _add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]
                         ) -> None:
    data_dir_help = ("the data directory whose archive/ folder is the archive when"
                     " EDITOR_S3_ENDPOINT is unset (default ./data)")
    backup = commands.add_parser(
        "backup", help="dump the PostgreSQL database to the archive (backups/STAMP.dump)",
        description="pg_dump --format=custom of EDITOR_DATABASE_URL into the archive (S3 with"
        " EDITOR_S3_*, else DATA_DIR/archive/) at backups/YYYYMMDDTHHMMSSZ.dump; prints the"
        " key. The archiver service also takes one every EDITOR_BACKUP_EVERY_S.")
    backup.add_argument("--data-dir", type=Path, help=data_dir_help)
    backup.set_defaults(run=_backup)
    restore = commands.add_parser(
        "restore-backup", help="load a dump from the archive into an EMPTY database",
        description="pg_restore the archive's KEY (e.g. backups/20250101T000000Z.dump) into"
        " EDITOR_DATABASE_URL (or --database-url), in one transaction. Refuses a database"
        " that holds any table: create a new one (createdb) and point the services at it.")
    restore.add_argument("key", metavar="KEY", help="the dump's archive key")
    restore.add_argument("--database-url", help="the empty target database (default"
                         " EDITOR_DATABASE_URL)")
    restore.add_argument("--data-dir", type=Path, help=data_dir_help)
    restore.set_defaults(run=_restore_backup)
    wal = commands.add_parser(
        "wal-archive", help="PostgreSQL's archive_command: store one WAL file in the archive",
        description="Set archive_command = 'editor wal-archive %%p %%f' (the server needs the"
        " EDITOR_S3_* settings in its environment). Stores wal/NAME; idempotent.")
    wal.add_argument("path", type=Path, metavar="PATH", help="%%p: the file to archive")
    wal.add_argument("name", metavar="NAME", help="%%f: its WAL file name")
    wal.add_argument("--data-dir", type=Path, help=data_dir_help)
    wal.set_defaults(run=_wal_archive)
    base = commands.add_parser(
        "base-backup", help="a physical base backup to the archive (for point-in-time restore)",
        description="pg_basebackup (tar, with the WAL it needs) of EDITOR_DATABASE_URL's"
        " server into the archive at basebackups/YYYYMMDDTHHMMSSZ.tar; prints the key. Needs a"
        " role with REPLICATION and a replication line in pg_hba.conf.")
    base.add_argument("--data-dir", type=Path, help=data_dir_help)
    base.set_defaults(run=_base_backup)
    pitr = commands.add_parser(
        "restore-pitr", help="rebuild a server as it was at a moment (base backup + WAL)",
        description="Unpack the base backup BASE into the empty directory --pgdata, fetch the"
        " archived WAL and configure recovery to --target-time (ISO 8601 with a zone, e.g."
        " 2025-01-01T12:00:00Z); the server replays to that moment and opens for writes."
        " Run as root or the PostgreSQL user; the files belong to the owner of PGDATA's"
        " parent folder.")
    pitr.add_argument("base", metavar="BASE", help="basebackups/… key (taken before the"
                      " target time)")
    pitr.add_argument("--target-time", required=True, help="the moment to recover to")
    pitr.add_argument("--pgdata", type=Path, required=True,
                      help="a new (absent or empty) data directory")
    pitr.add_argument("--port", type=int, help="the restored server's port (default: the"
                      " backed-up server's)")
    pitr.add_argument("--start", action="store_true", help="start it (pg_ctl start -w)")
    pitr.add_argument("--log", type=Path, help="server log with --start")
    pitr.add_argument("--data-dir", type=Path, help=data_dir_help)
    pitr.set_defaults(run=_restore_pitr)


def _add_failover_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]
                           ) -> None:
    failover = commands.add_parser(
        "failover", help="PostgreSQL high availability (the worker is `editor run failover`)",
        description="Commands around the failover worker (docs/runbooks/Failover.md).")
    actions = failover.add_subparsers(dest="failover_command", required=True, metavar="ACTION")
    rejoin = actions.add_parser(
        "rejoin", help="turn an old (fenced) primary into a standby of the new one",
        description="On the old primary's machine: find the primary among the nodes of"
        " EDITOR_DATABASE_URL, stop the local server, pg_rewind PGDATA onto the primary (what"
        " the old primary wrote after the failover is discarded), remove the fence, point"
        " primary_conninfo at the primary and write standby.signal. Needs a superuser in"
        " EDITOR_DATABASE_URL and wal_log_hints (or data checksums) on every node.")
    rejoin.add_argument("--pgdata", type=Path, required=True,
                        help="the old primary's PostgreSQL data directory")
    rejoin.add_argument("--start", action="store_true",
                        help="start the server afterwards (pg_ctl start -w)")
    rejoin.add_argument("--log", type=Path, help="server log file with --start"
                        " (default PGDATA/rejoin.log)")
    rejoin.set_defaults(run=_rejoin)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``editor`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"editor: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
