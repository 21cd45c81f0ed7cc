"""`manage.py load_demo`: load the fictitious demo (seeds/demo.json) and print its logins.

Safe to run again: it creates only what is missing (see ipplan/core/demo.py).
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipplan.core.demo import load_demo


class Command(BaseCommand):
    help = "Load the fictitious demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, help="Seed file (default: seeds/demo.json).")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even though IPPLAN_HTTPS is on (the demo users share a published password).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "IPPLAN_HTTPS", False) and not options["allow_production"]:
            # Every demo account, the superuser included, has the password printed below
            # and in the README: never let that reach a real installation by accident.
            raise CommandError(
                "Refusing to load the demo: IPPLAN_HTTPS is on, so this looks like production. "
                "Use --allow-production only for a throw-away installation."
            )
        result = load_demo(options["file"])
        if options["verbosity"] < 1:
            return
        if result.created:
            made = ", ".join(f"{n} {what}" for what, n in result.created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {made}."))
        else:
            self.stdout.write("Demo data already present; nothing to add.")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {result.password}):")
        width = max(len(login.username) for login in result.logins)
        name_width = max(len(login.name) for login in result.logins)
        for login in result.logins:
            self.stdout.write(
                f"  {login.username.ljust(width)}  {login.name.ljust(name_width)}  {login.role}"
            )
