"""manage.py course_statistics: the unit leader's figures on the command line.

The same numbers as the statistics page and its CSV download (people, not courses;
small cells suppressed), for reports and scheduled exports:

    manage.py course_statistics                 # aligned table, every year
    manage.py course_statistics --format csv    # CSV on stdout
    manage.py course_statistics --year 2025 --year 2026
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ipplan.courses import statistics


class Command(BaseCommand):
    help = "Print yearly treatment-course statistics (suppressed as on the statistics page)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["table", "csv"], default="table")
        parser.add_argument(
            "--year", type=int, action="append", dest="years", help="Only this year (repeatable)."
        )
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            help="Count as if today were this day (YYYY-MM-DD); default: today.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["today"]
        if today is not None and today > timezone.localdate():
            raise CommandError("--today cannot be in the future.")
        stats = statistics.course_statistics(today=today, years=options["years"])
        if options["format"] == "csv":
            self.stdout.write(statistics.to_csv(stats), ending="")
            return
        rows = statistics.table_rows(stats)
        if len(rows) == 1:
            self.stdout.write("No treatment courses have started or ended in these years.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            cells = [
                cell.ljust(width) if col < 3 else cell.rjust(width)
                for col, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            self.stdout.write("  ".join(cells).rstrip())
            if index == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
