"""`ketaguide users`: add users (printing their API token once), list them, revoke them."""

from __future__ import annotations

from enum import StrEnum

import typer

from ketaguide.cli.streams import write_output

users_app = typer.Typer(help="Users of the server and their API tokens.", no_args_is_help=True)


class RoleName(StrEnum):
    clinician = "clinician"
    curator = "curator"
    admin = "admin"


@users_app.command("add")
def add_command(
    name: str = typer.Argument(..., help="A unique user name."),
    role: RoleName = typer.Option(..., "--role", help="clinician, curator or admin."),
) -> None:
    """Add a user and print their API token: it is shown this once and stored only as a hash."""
    from ketaguide.cli.db import ready_records
    from ketaguide.services.users import add_user

    with ready_records() as records:
        user, token = add_user(records, name, role.value)
    write_output(f"added {user.name} ({user.role.value}); API token, shown once:\n{token}")


@users_app.command("list")
def list_command() -> None:
    """List users, their roles and whether they are revoked."""
    from ketaguide.cli.db import ready_records
    from ketaguide.services.users import list_users

    with ready_records() as records:
        users = list_users(records)
    for user in users:
        state = f"revoked {user.revoked_at:%Y-%m-%d %H:%M}Z" if user.revoked_at else "active"
        write_output(f"{user.name}\t{user.role.value}\t{state}\tadded {user.created_at:%Y-%m-%d %H:%M}Z")


@users_app.command("revoke")
def revoke_command(name: str = typer.Argument(..., help="The user whose token stops working now.")) -> None:
    """Revoke a user's token, at once and in every worker."""
    from ketaguide.cli.db import ready_records
    from ketaguide.services.users import revoke_user

    with ready_records() as records:
        user = revoke_user(records, name)
    write_output(f"revoked {user.name}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
