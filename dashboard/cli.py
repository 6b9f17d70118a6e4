"""`quotawatch serve` and `quotawatch users add|list|remove`."""

from __future__ import annotations

import argparse
import sys

from quota.cli.common import add_json_flag, emit, format_table
from quota.errors import UserError
from quota.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser(
        "serve",
        help="run the dashboard web server",
        description=(
            "Serve the QuotaWatch dashboard (sign-in required). Production deployments can "
            "instead run the WSGI application dashboard.wsgi:application under waitress or "
            "gunicorn."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8050, help="port to listen on")
    serve.add_argument("--threads", type=int, default=8, help="worker threads (waitress)")
    serve.add_argument(
        "--debug",
        action="store_true",
        help="Flask/Dash development server with debugging (never in production)",
    )
    serve.set_defaults(func=run_serve)

    users = sub.add_parser(
        "users",
        help="manage dashboard users",
        description="Add, list and remove dashboard users (passwords stored as Argon2 hashes).",
    )
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="create a user (or --replace an existing one)",
        description=(
            "Create a dashboard user. regulator: every building, adjusts quotas, determines "
            "years, decides appeals; analyst: every building plus exports and proposals; "
            "manager: only the --building IDs given, answers with appeals. The password is "
            "read from standard input (one line) with --password-stdin."
        ),
    )
    add.add_argument("name", help="user name (letters, digits, _ . @ -)")
    add.add_argument("--role", required=True, choices=("regulator", "analyst", "manager"))
    add.add_argument(
        "--building",
        action="append",
        default=[],
        metavar="ID",
        help="building a manager may see (repeat for several)",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument(
        "--replace",
        action="store_true",
        help="overwrite an existing user (a new password ends all of the user's sessions)",
    )
    add_json_flag(add)
    add.set_defaults(func=run_users)
    listing = actions.add_parser("list", help="list users, roles and assigned buildings")
    add_json_flag(listing)
    listing.set_defaults(func=run_users)
    remove = actions.add_parser("remove", help="delete a user (ending all of their sessions)")
    remove.add_argument("name")
    add_json_flag(remove)
    remove.set_defaults(func=run_users)


def _read_password(args: argparse.Namespace) -> str:

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the passwords differ")
    else:
        raise UserError("give the password on standard input with --password-stdin")
    if not password:
        raise UserError("empty password")
    return password


def run_users(args: argparse.Namespace, settings: Settings) -> int:
    from dashboard import users
    from quota.db import transaction

    try:
        if args.users_command == "add":
            password = _read_password(args)
            with transaction(settings) as conn:
                created = users.add_user(
                    conn, args.name, args.role, password, args.building, replace=args.replace
                )
            data = {
                "username": args.name,
                "role": args.role,
                "buildings": args.building,
                "created": created,
            }
            verb = "added" if created else "replaced"
            emit(args, data, f"{verb} user {args.name} ({args.role})")
            return 0
        if args.users_command == "list":
            with transaction(settings) as conn:
                rows = users.list_users(conn)
            human = format_table(
                [{**r, "building_ids": ",".join(r["building_ids"])} for r in rows],
                [
                    "username",
                    "role",
                    "building_ids",
                    "last_login_at",
                    "failed_logins",
                    "locked_until",
                ],
            )
            emit(args, rows, human)
            return 0
        with transaction(settings) as conn:
            removed = users.remove_user(conn, args.name)
        if not removed:
            raise UserError(f"no user {args.name!r}")
        emit(args, {"username": args.name, "removed": True}, f"removed user {args.name}")
        return 0
    except users.UserInputError as exc:
        raise UserError(str(exc)) from exc


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from dashboard.app import create_app

    app = create_app(settings)
    url = f"http://{args.host}:{args.port}/"
    print(f"QuotaWatch dashboard on {url} (Ctrl-C to stop)", file=sys.stderr)
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True)
        return 0
    from waitress import serve

    serve(app.server, host=args.host, port=args.port, threads=args.threads)
    return 0
