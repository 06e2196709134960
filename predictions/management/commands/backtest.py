"""python manage.py backtest (--agency SLUG | --input FILE...) --category NAME ...

Rolling-origin backtest of forecasting methods. Prints a table and writes JSON (per
method: pooled and per-window metrics at every coverage, fit and predict seconds).
With --input the files are read by the import's own parsers and no database is used.
"""

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from predictions.forecasting.backtest import HORIZONS
from predictions.ingest import FORMATS, IngestRefused, MappingError
from predictions.ingest.arrays import ALL, file_arrays
from predictions.research import backtest as cli
from predictions.taxonomy import CATEGORY_CODES


def _read_json(path: str | None):
    return json.loads(Path(path).read_text()) if path else None


class Command(BaseCommand):
    help = "Backtest forecasting methods on an agency's incidents or on files."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--agency", help="An agency's slug (its stored incidents).")
        source.add_argument("--input", nargs="+", metavar="FILE", help="Incident files.")
        parser.add_argument("--format", choices=sorted(FORMATS))
        parser.add_argument("--mapping", metavar="FILE.json")
        parser.add_argument("--boundary", metavar="FILE.geojson",
                            help="With --input: the area (default: cells with incidents).")
        parser.add_argument("--category", required=True,
                            choices=[ALL, *sorted(CATEGORY_CODES)])
        parser.add_argument("--cell-size", type=float, default=150)
        parser.add_argument("--horizon", type=int, default=7, choices=HORIZONS)
        parser.add_argument("--start", required=True, help="First window start (YYYY-MM-DD).")
        parser.add_argument("--end", required=True, help="Windows end by this date.")
        parser.add_argument("--methods", default="all",
                            help="'all' or a comma list of the models page's codes "
                                 "(methods and baseline variants such as kde_long).")
        parser.add_argument("--json", dest="json_out", metavar="OUT.json")
        parser.add_argument("--export-predictions", metavar="DIR")

    def handle(self, *args, **o):
        started = time.perf_counter()
        try:
            methods = cli.method_list(o["methods"])
            if o["agency"]:
                arrays, boundary = self._agency(o["agency"])
            else:
                mapping = _read_json(o["mapping"])
                arrays = file_arrays(o["input"], o["format"], mapping)
                boundary = _read_json(o["boundary"])
            grid, result = cli.backtest(
                arrays, boundary=boundary, category=o["category"], cell_size=o["cell_size"],
                horizon=o["horizon"], start=o["start"], end=o["end"], methods=methods,
                export=bool(o["export_predictions"]))
        except (ValueError, IngestRefused, MappingError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        summary = result.summary()
        self.stdout.write(cli.table(summary))
        active = ("" if grid.boundary is None
                  else f" ({int(grid.boundary_mask().sum())} inside the boundary)")
        self.stdout.write(f"{len(result.starts)} windows, {arrays.times.size} incidents, "
                          f"grid {grid.nx} x {grid.ny} cells of {grid.cell_size:g} m{active}, "
                          f"{time.perf_counter() - started:.1f} s")
        config = {k: o[k] for k in ("category", "cell_size", "horizon", "start", "end")}
        config |= {"source": o["agency"] or o["input"], "methods": dict(methods),
                   "windows": [str(s) for s in result.starts]}
        if o["json_out"]:
            cli.write_json(o["json_out"], config, summary)
        if o["export_predictions"]:
            cli.export_predictions(o["export_predictions"], grid, result, o["horizon"])
        sys.stdout.flush()

    def _agency(self, slug):
        from agencies.models import Agency
        from predictions.bridge import load_arrays

        agency = Agency.objects.filter(slug=slug).first()
        if agency is None:
            raise CommandError(f"No agency {slug!r}.")
        return load_arrays(agency), agency.boundary
