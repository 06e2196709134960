"""python manage.py seed_demo: the demo agencies, board and users, with printed logins."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from agencies.demo import seed_demo


class Command(BaseCommand):
    help = "Create or reset the demo agencies, oversight board and one user per role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", help="Use this password for every demo user (default: random ones)."
        )

    def handle(self, *args, password=None, **options):
        logins = seed_demo(password=password)
        analyst = get_user_model().objects.get(username="demo-analyst")
        for dotted in settings.DEMO_SEEDERS:  # later rooms add data without a static import
            self.stdout.write(import_string(dotted)(analyst=analyst))
        width = max(len(login.username) for login in logins)
        self.stdout.write("Demo logins (http://127.0.0.1:8000/accounts/login/):")
        for login in logins:
            self.stdout.write(f"  {login.username:<{width}}  {login.password}  ({login.what})")
