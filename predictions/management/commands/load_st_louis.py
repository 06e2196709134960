"""python manage.py load_st_louis [--data ../shared/data]: St. Louis as a real agency."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from predictions.research.st_louis import load, make_admin

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


class Command(BaseCommand):
    help = ("Load St. Louis (60 SLMPD monthly files, boundary, neighborhoods as the reference "
            "layer, census tracts as the fairness layer) into its own agency, once.")

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(DEFAULT_DATA),
                            help="The shared data folder (holding stl/).")
        parser.add_argument("--admin", metavar="USERNAME",
                            help="Make this user the agency's admin (created, with a new "
                                 "password printed once, when there is none).")

    def handle(self, *args, data, admin=None, **options):
        try:
            loaded = load(Path(data))
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        for step in loaded.steps:
            self.stdout.write(f"- {step}")
        if admin:
            password = make_admin(loaded.agency, admin)
            self.stdout.write(f"- {admin} is its admin"
                              + (f" (password: {password})" if password else ""))
        self.stdout.write(f"Agency {loaded.agency.name}: /a/{loaded.agency.slug}/; its admin "
                          f"switches the public map on at /a/{loaded.agency.slug}/publishing/.")
