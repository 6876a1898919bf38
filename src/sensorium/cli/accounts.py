"""`sensorium users ...` and `sensorium keys ...`: accounts and API keys from the command line (the
server's database, from DATA_DIR / DATABASE_URL). Keys are printed once, on stdout; nothing else is."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from sensorium.accounts.service import AccountService
from sensorium.cli.common import console, fail, out
from sensorium.config import MB, Settings
from sensorium.errors import SensoriumError
from sensorium.store import migrate
from sensorium.store.database import Database

users_app = typer.Typer(help="Accounts (AUTH_MODE apikey | accounts; see docs/accounts.md).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@contextmanager
def account_service() -> Iterator[AccountService]:
    """The accounts of the configured database (schema upgraded or checked as at server start); errors exit 1."""
    settings = Settings()
    settings.ensure_dirs()
    db = Database(settings.db_url)
    try:
        migrate.prepare(db, auto=settings.auto_migrate)
        yield AccountService(settings, db)
    except SensoriumError as exc:
        fail(exc)
    finally:
        db.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="E-mail address or user name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Role admin: sees every user's jobs and tasks.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from the first line of stdin.")] = False,
    no_password: Annotated[bool, typer.Option("--no-password",
                                              help="No password: the user can only use API keys.")] = False,
) -> None:
    """Create a user (asks for the password unless --password-stdin or --no-password)."""
    password = None if no_password else _read_password(password_stdin)
    with account_service() as accounts:
        user = accounts.create_user(email, password, role="admin" if admin else "user")
    console.print(f"created {user.role} [bold]{user.email}[/bold] (id {user.id})")


@users_app.command("list")
def list_users() -> None:
    """Users with their role and effective daily limits (0 = unlimited)."""
    with account_service() as accounts:
        users = accounts.list_users()
    table = Table("id", "email", "role", "requests/day", "processing s/day", "upload MB/day", "created")
    for u in users:
        lim = u.limits
        assert lim is not None
        table.add_row(u.id, u.email, u.role, str(lim.requests_per_day), f"{lim.processing_seconds_per_day:g}",
                      f"{lim.upload_bytes_per_day / MB:g}", (u.created_at or "")[:19])
    out.print(table)


@users_app.command("quota")
def set_quota(
    email: Annotated[str, typer.Argument(help="The user.")],
    requests: Annotated[int | None, typer.Option(min=0, help="Requests per UTC day (0 = unlimited).")] = None,
    processing_seconds: Annotated[float | None, typer.Option(min=0, help="Processing seconds per day.")] = None,
    upload_mb: Annotated[float | None, typer.Option(min=0, help="Upload megabytes per day.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Back to the settings' defaults.")] = False,
) -> None:
    """Override a user's daily limits (the QUOTA_* settings are the defaults)."""
    values: dict[str, float | int | None] = {}
    if reset:
        values = {"requests": None, "processing_seconds": None, "upload_bytes": None}
    if requests is not None:
        values["requests"] = requests
    if processing_seconds is not None:
        values["processing_seconds"] = processing_seconds
    if upload_mb is not None:
        values["upload_bytes"] = int(upload_mb * MB)
    with account_service() as accounts:
        user = accounts.set_quota(email, **values)
    console.print(f"{user.email}: {user.limits.model_dump() if user.limits else {}}")


@keys_app.command("create")
def create_key(
    user: Annotated[str, typer.Option("--user", help="The key's owner (e-mail or user name).")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
) -> None:
    """Create an API key and print it (stdout, this once only: it is stored hashed)."""
    with account_service() as accounts:
        owner = accounts.user_by_email(user)
        new = accounts.create_key(owner.id, name)
    console.print(f"key {new.info.id} for {owner.email}; store it now, it is not shown again:")
    out.print(new.key, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_keys(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's keys.")] = None,
) -> None:
    """Keys (prefix, owner, created, last used, revoked); never the keys themselves."""
    with account_service() as accounts:
        owner = accounts.user_by_email(user) if user else None
        keys = accounts.list_keys(owner.id if owner else None)
        emails = {u.id: u.email for u in accounts.list_users()}
    table = Table("id", "prefix", "user", "name", "created", "last used", "revoked")
    for k in keys:
        table.add_row(k.id, k.prefix + "...", emails.get(k.user_id, k.user_id), k.name, (k.created_at or "")[:19],
                      (k.last_used_at or "")[:19], (k.revoked_at or "")[:19])
    out.print(table)


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id (from `sensorium keys list`).")]) -> None:
    """Revoke a key at once (requests with it answer 401)."""
    with account_service() as accounts:
        info = accounts.revoke_key(key_id)
    console.print(f"revoked key {info.id} ({info.prefix}...)")
