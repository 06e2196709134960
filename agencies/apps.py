from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and oversight"

    def ready(self) -> None:
        from agencies import lockout  # noqa: F401 - audits the release of locks
