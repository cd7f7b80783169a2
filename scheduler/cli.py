"""The ``tminus`` command line: argument parsing and the one error handler.

Each command lives in ``scheduler.commands.<module>`` as a function
``(args, settings) -> int`` and is imported only when it runs, so that
``tminus check`` does not pay for FastAPI or SQLAlchemy.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence

from scheduler import __version__
from scheduler.errors import ConfigError, TminusError, UsageError
from scheduler.settings import Settings, parse_port

# command name -> "module:function" under scheduler.commands
COMMANDS = {
    "run": "run:run",
    "check": "offline:check",
    "upcoming": "offline:upcoming",
    "simulate": "offline:simulate",
    "explain": "offline:explain",
    "export-ics": "offline:export_ics",
    "history": "records:history",
    "redeliver": "records:redeliver",
    "notify-test": "notify_test:notify_test",
    "ack": "ack:ack",
    "unack": "ack:unack",
    "db": "records:db",
}


def _port(text: str) -> int:
    try:
        return parse_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tminus",
        description="Deadline and milestone notifier: YAML milestones in, alerts out.",
    )
    parser.add_argument("--version", action="version", version=f"tminus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def config_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-c",
            "--config",
            metavar="PATH",
            help="config file, or a directory of *.yaml files (env TMINUS_CONFIG)",
        )

    def json_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="one JSON document on stdout")

    p = sub.add_parser("run", help="the daemon: schedule, deliver, serve HTTP")
    config_opt(p)
    p.add_argument("--host", help="HTTP host (env TMINUS_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=_port, help="HTTP port (env TMINUS_PORT, default 8080)")
    p.add_argument("--database-url", help="SQLAlchemy URL (env TMINUS_DATABASE_URL)")

    p = sub.add_parser("check", help="validate the config")
    config_opt(p)
    json_opt(p)

    p = sub.add_parser("upcoming", help="reminders due in a window, soonest first")
    config_opt(p)
    p.add_argument("--within", default="90d", help="window length (default 90d)")
    p.add_argument("--now", metavar="ISO", help="pretend it is this moment")
    json_opt(p)

    p = sub.add_parser("simulate", help="replay the schedule in virtual time")
    config_opt(p)
    p.add_argument("--from", dest="start", required=True, metavar="ISO")
    p.add_argument("--until", dest="end", required=True, metavar="ISO")
    json_opt(p)

    p = sub.add_parser("explain", help="how a milestone's date was computed")
    p.add_argument("milestone", metavar="MILESTONE")
    config_opt(p)
    p.add_argument(
        "--svg", metavar="FILE", help="also draw the milestone's after chain as SVG to FILE"
    )
    json_opt(p)

    p = sub.add_parser("export-ics", help="RFC 5545 calendar of the milestones")
    config_opt(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    p = sub.add_parser("history", help="deliveries recorded in the database")
    p.add_argument("--status", help="scheduled, sending, retrying, sent, dead, skipped, cancelled")
    p.add_argument("--milestone", metavar="ID")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--database-url", help="SQLAlchemy URL (env TMINUS_DATABASE_URL)")
    json_opt(p)

    p = sub.add_parser("redeliver", help="queue a dead or sent delivery again")
    p.add_argument("delivery_id", metavar="DELIVERY_ID")
    p.add_argument("--database-url", help="SQLAlchemy URL (env TMINUS_DATABASE_URL)")
    json_opt(p)

    p = sub.add_parser("ack", help="acknowledge a milestone occurrence: its reminders stop")
    p.add_argument("milestone", metavar="MILESTONE")
    config_opt(p)
    p.add_argument("--occurrence", metavar="ISO", help="default: the next not yet past")
    p.add_argument("--by", metavar="NAME", help="who acknowledges (default: your user name)")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--database-url", help="SQLAlchemy URL (env TMINUS_DATABASE_URL)")
    json_opt(p)

    p = sub.add_parser("unack", help="take an acknowledgement back")
    p.add_argument("milestone", metavar="MILESTONE")
    config_opt(p)
    p.add_argument("--occurrence", metavar="ISO", help="default: the next not yet past")
    p.add_argument("--by", metavar="NAME", help="who takes it back (default: your user name)")
    p.add_argument("--database-url", help="SQLAlchemy URL (env TMINUS_DATABASE_URL)")
    json_opt(p)

    p = sub.add_parser("notify-test", help="send a sample alert to one channel now")
    p.add_argument("channel", metavar="CHANNEL")
    config_opt(p)
    json_opt(p)

    p = sub.add_parser("db", help="database migrations")
    p.add_argument("db_command", choices=["upgrade", "current"])
    p.add_argument("--database-url", help="SQLAlchemy URL (env TMINUS_DATABASE_URL)")
    return parser


def settings_for(args: argparse.Namespace, env_settings: Settings | None = None) -> Settings:
    """Environment settings with the command line's flags laid over them."""
    if env_settings is None:
        env: Mapping[str, str] = os.environ
        if getattr(args, "port", None) is not None:
            # the flag wins, so a stale TMINUS_PORT does not stop the command
            env = {k: v for k, v in env.items() if k != "TMINUS_PORT"}
        env_settings = Settings.from_env(env)
    base = env_settings
    overrides = {
        "config": getattr(args, "config", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "database_url": getattr(args, "database_url", None),
    }
    return Settings(
        **{
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            **{k: v for k, v in overrides.items() if v is not None},
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, func_name = COMMANDS[args.command].split(":")
    try:
        settings = settings_for(args)
        module = importlib.import_module(f"scheduler.commands.{module_name}")
        result: int = getattr(module, func_name)(args, settings)
        return result
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        n = len(exc.problems)
        print(f"{n} error{'s' if n != 1 else ''}", file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        print(f"tminus {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except TminusError as exc:
        print(f"tminus {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
