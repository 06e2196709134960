"""python manage.py score_forecasts [--agency SLUG] [--forecast ID ...]

Score now, here, every issued forecast whose window has closed and which has no score yet
(what the beat's hourly round queues), or the forecasts named. Prints one line each.
"""

from django.core.management.base import BaseCommand, CommandError

from predictions.models import Forecast
from predictions.scoring.scorecard import percent
from predictions.scoring.scoring import NotDue, due_forecast_ids, score_forecast


class Command(BaseCommand):
    help = "Score the issued forecasts whose window has closed (once each)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Only this agency's forecasts (its slug).")
        parser.add_argument("--forecast", type=int, nargs="+", default=[],
                            help="Only these forecasts (their ids).")

    def handle(self, *args, **options):
        ids = options["forecast"] or due_forecast_ids()
        if options["agency"]:
            ids = list(Forecast.objects.filter(pk__in=ids, agency__slug=options["agency"])
                       .values_list("pk", flat=True))
        if options["forecast"] and not Forecast.objects.filter(pk__in=ids).exists():
            raise CommandError("No such forecast.")
        scored = 0
        for forecast_id in sorted(ids):
            try:
                score = score_forecast(forecast_id)
            except NotDue as exc:
                self.stdout.write(f"forecast {forecast_id}: not due: {exc}")
                continue
            if score is None:
                self.stdout.write(f"forecast {forecast_id}: no such forecast")
                continue
            scored += 1
            rate, base = percent(score.hit_rate), percent(score.baseline_hit_rate)
            self.stdout.write(
                f"forecast {forecast_id} ({score.model.name}, {score.window_start}): "
                f"{score.events} incidents, hit rate {rate} at {percent(score.coverage, 2)} "
                f"viewed ({score.coverage_source}: {score.reads} reads); baseline {base}")
        self.stdout.write(f"{scored} forecast(s) scored")
