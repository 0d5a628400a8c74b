"""Command-line commands: `flask --app leadrouter <command>`."""

from __future__ import annotations

import click
from flask import Flask

from leadrouter.extensions import db
from leadrouter.retention import purge_closed_command


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_api_key_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(embedded_command)
    app.cli.add_command(purge_closed_command)
    app.cli.add_command(rebuild_report_rollups_command)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["advisor", "manager", "admin"]), required=True)
@click.option("--name", default=None)
def create_user_command(email: str, password: str, role: str, name: str | None) -> None:
    """Create a user who can sign in (an advisor also gets an advisor profile)."""
    from leadrouter.auth.users import UserError, create_user

    try:
        user = create_user(email, password, role, name)
    except UserError as error:
        db.session.rollback()
        raise click.UsageError(str(error)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@click.command("create-api-key")
@click.option("--role", type=click.Choice(["partner", "manager"]), required=True)
@click.option("--name", default=None, help="Who the key is for, e.g. the partner's name.")
def create_api_key_command(role: str, name: str | None) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from leadrouter.auth.api_keys import issue_api_key

    api_key, raw_key = issue_api_key(role, name or f"{role} key")
    db.session.commit()
    click.echo(
        f"created {role} API key {api_key.prefix} ({api_key.name}); store it now, it is not shown again:"
    )
    click.echo(raw_key)


@click.command("seed-demo")
@click.option("--leads", default=300, show_default=True, help="How many demo leads to create.")
@click.option("--force", is_flag=True, help="Seed even if the database already has users.")
def seed_demo_command(leads: int, force: bool) -> None:
    """Fill the database with demo advisors, managers and leads."""
    from leadrouter.demo import DEMO_LOGINS, seed_demo

    summary = seed_demo(lead_count=leads, force=force)
    db.session.commit()
    click.echo(summary)
    for email, password, role in DEMO_LOGINS:
        click.echo(f"  {role:8} {email}  /  {password}")


@click.command("rebuild-report-rollups")
def rebuild_report_rollups_command() -> None:
    """Recompute every hour of the routing report's rollups (after a bulk load, or if in doubt)."""
    import time

    from leadrouter.reports import rollups

    began = time.monotonic()
    hours = rollups.rebuild(commit=db.session.commit)
    click.echo(f"rebuilt the report rollups: {hours:,} hours in {time.monotonic() - began:.1f} s")


@click.command("embedded")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def embedded_command(host: str, port: int) -> None:
    """Run the whole helpline on this machine: web, worker and scheduler; Ctrl-C stops all."""
    from leadrouter.embedded import run_embedded

    raise SystemExit(run_embedded(host, port))
