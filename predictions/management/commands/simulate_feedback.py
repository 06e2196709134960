"""python manage.py simulate_feedback [--agency SLUG] [--rounds N] [--coverage 0.05] ...

Feedback-loop check (Ensign et al. 2018): repeated deployment on the synthetic city's true
rates, or on an agency's recorded history standing in for the truth. Patrols go to the flagged
cells, find unreported crimes there, and the model is retrained on what was recorded: without
correction, with reported incidents only, and with patrol-found incidents down-weighted.
Prints a table of milestones (or the JSON with --json) and writes the chart (.html or .svg).
"""

import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from predictions.bridge import json_safe
from predictions.forecasting import feedback
from predictions.research.feedback_chart import feedback_html, feedback_svg, scenario_label
from predictions.taxonomy import CATEGORY_CODES, ENFORCEMENT_DRIVEN

ALL = "all"
TABLE_METRICS = (
    ("inflation", "inflation"),
    ("concentration", "concentration"),
    ("topk_recall", "top-k recall"),
)


class Command(BaseCommand):
    help = "Simulate the feedback loop of deployed forecasts, with and without correction."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument(
            "--agency",
            help="An agency's slug: its recorded incidents stand "
            "in for the truth (default: the synthetic city).",
        )
        parser.add_argument(
            "--category",
            default=ALL,
            choices=[ALL, *sorted(CATEGORY_CODES)],
            help="With --agency: one category, or all but the enforcement-driven ones (default).",
        )
        parser.add_argument(
            "--city-seed", type=int, default=0, help="Without --agency: the synthetic city's seed."
        )
        parser.add_argument("--cell-size", type=float, default=150.0, help="Metres.")
        parser.add_argument("--rounds", type=int, default=365)
        parser.add_argument("--round-days", type=float, default=1.0)
        parser.add_argument(
            "--coverage",
            type=float,
            default=0.05,
            help="Share of the cells flagged and patrolled, in (0, 1).",
        )
        parser.add_argument(
            "--report-rate",
            type=float,
            default=0.5,
            help="Share of crimes the public reports, in (0, 1].",
        )
        parser.add_argument(
            "--discovery-rate",
            type=float,
            default=0.5,
            help="Share of unreported crimes in a patrolled cell that patrols find, in [0, 1].",
        )
        parser.add_argument(
            "--half-life", type=float, default=60.0, help="The model's memory, in rounds."
        )
        parser.add_argument(
            "--warmup",
            type=int,
            default=28,
            help="Rounds of history (reports only) before deployment.",
        )
        parser.add_argument(
            "--weight",
            type=float,
            default=None,
            help="Down-weight patrol-found incidents by this factor (default: inverse presence).",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--out",
            metavar="PATH.html|.svg",
            help="Chart file (default: VAR_DIR/feedback-<source>.html).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the result as JSON instead of the table."
        )

    def handle(self, *args, **o):
        started = time.perf_counter()
        out = Path(o["out"]) if o["out"] else None
        if out is not None and out.suffix.lower() not in (".html", ".svg"):
            raise CommandError(f"--out must end in .html or .svg, got {o['out']!r}")
        if not o["agency"] and o["category"] != ALL:
            raise CommandError("--category needs --agency")
        try:
            truth = self._agency_truth(o) if o["agency"] else self._synthetic_truth(o)
            result = feedback.simulate_feedback(
                truth,
                coverage=o["coverage"],
                rounds=o["rounds"],
                round_days=o["round_days"],
                report_prob=o["report_rate"],
                discovery_prob=o["discovery_rate"],
                half_life=o["half_life"],
                warmup=o["warmup"],
                weight=o["weight"],
                seed=o["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        data = json_safe(result.to_dict())
        source = o["agency"] or "synthetic"
        data["truth"]["agency"] = o["agency"]
        out = out or Path(settings.VAR_DIR) / f"feedback-{source}.html"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            text = (
                feedback_svg(data)
                if out.suffix.lower() == ".svg"
                else feedback_html(data, f"Feedback-loop check: {truth.source}")
            )
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc}") from exc
        seconds = time.perf_counter() - started
        if o["json"]:
            self.stdout.write(json.dumps(data | {"chart": str(out), "seconds": round(seconds, 2)}))
        else:
            self.stdout.write(table(data))
            self.stdout.write(f"truth: {truth.note}")
            self.stdout.write(f"chart: {out}")
            self.stdout.write(f"{seconds:.1f} s")
        sys.stdout.flush()

    def _synthetic_truth(self, o):
        return feedback.synthetic_truth(seed=o["city_seed"], cell_size=o["cell_size"])

    def _agency_truth(self, o):
        from agencies.models import Agency
        from predictions.bridge import build_grid, load_arrays, to_events

        agency = Agency.objects.filter(slug=o["agency"]).first()
        if agency is None:
            raise CommandError(f"No agency {o['agency']!r}.")
        category = o["category"]
        exclude = ENFORCEMENT_DRIVEN if category == ALL else frozenset()
        arrays = load_arrays(agency, exclude_categories=exclude)
        if arrays.times.size == 0:
            raise CommandError(f"Agency {o['agency']!r} has no usable incidents.")
        grid = build_grid(agency, arrays, o["cell_size"])
        events = to_events(arrays, grid)
        if category != ALL:
            events = events.of_category(category)
            if len(events) == 0:
                raise CommandError(f"Agency {o['agency']!r} has no {category} incidents.")
        what = "incidents (enforcement-driven categories left out)" if category == ALL else category
        return feedback.recorded_truth(events, grid, f"{agency.name}: recorded {what}")


def table(data: dict) -> str:
    cfg = data["config"]
    head = (
        f"feedback loop on {data['truth'].get('source', 'given rates')}: {data['n_cells']} "
        f"cells, {data['k']} flagged per round ({100 * data['k'] / data['n_cells']:.1f} %), "
        f"{cfg['rounds']} rounds of {cfg['round_days']:g} day(s); report "
        f"{cfg['report_prob']:g}, discovery {cfg['discovery_prob']:g}; model: "
        + (
            f"decayed counts, half-life {cfg['half_life']:g} rounds"
            if cfg["model"] == "decay"
            else str(cfg["model"])
        )
    )
    lines = [
        head,
        f"{'round':>6}  {'scenario':<48}" + "".join(f"{label:>15}" for _, label in TABLE_METRICS),
    ]
    for r in data["milestones"]:
        for name, s in data["scenarios"].items():
            values = "".join(_fmt(s[m][r - 1]) for m, _ in TABLE_METRICS)
            lines.append(f"{r:>6}  {scenario_label(name, data):<48}{values}")
    return "\n".join(lines)


def _fmt(v) -> str:
    return f"{'-':>15}" if v is None else f"{v:>15.3f}"
