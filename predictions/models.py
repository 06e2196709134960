"""Incident data of an agency: uploads (datasets), incidents, category and column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from agencies.tenancy import TenantOwned, TenantQuerySet
from predictions import jobs
from predictions.taxonomy import CATEGORIES

CATEGORY_CHOICES = [(code, c.label) for code, c in CATEGORIES.items()]


class BackgroundJob(TenantOwned):
    """What a task-run row keeps: progress, error, times and attempts (see predictions.jobs)."""

    progress = models.PositiveSmallIntegerField(default=0)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Liveness of the running attempt, and its resumption after a lost worker (see jobs.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True,
                                        help_text="Last sign of life of the running attempt.")
    interrupted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the silent attempt's task was sent again.")
    interruptions = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts since it was last started that were interrupted.")

    class Meta:
        abstract = True

    @property
    def interrupted(self) -> bool:
        """Running, but its worker was lost: it is about to resume (or resuming)."""
        return jobs.is_interrupted(self)

    def job_status_display(self) -> str:
        """The status in words; "Interrupted, resuming" for an interrupted job."""
        if self.interrupted:
            return jobs.INTERRUPTED
        return self._get_FIELD_display(  # type: ignore[attr-defined]  # (Django's own)
            self._meta.get_field("status"))


class Dataset(BackgroundJob):
    """One upload of one or more incident files, imported all or nothing."""

    class Status(models.TextChoices):
        STAGED = "staged", "Uploaded: check the preview, then import"
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed (nothing imported)"

    name = models.CharField(max_length=255, help_text="Original file name(s).")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, help_text="Of the files' own hashes, in order.")
    format = models.CharField(max_length=32, blank=True, help_text="Blank: auto-detect.")
    mapping = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rows_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    get_status_display = BackgroundJob.job_status_display  # (in the class: Django keeps it)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "sha256"], name="one_dataset_per_content")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class DatasetFile(models.Model):
    """One uploaded file of a dataset, kept so that a retried import reads the same bytes."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=500)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class IncidentQuerySet(TenantQuerySet):
    def usable(self) -> IncidentQuerySet:
        """Incidents the engine may learn from and the public map may count: not cancelled,
        located, location not withheld."""
        return self.filter(cancelled=False, location_withheld=False, lon__isnull=False,
                           lat__isnull=False)


class Incident(TenantOwned):
    """One recorded incident. `cancelled` marks one that a later record withdrew (SLMPD
    `Count = -1`: unfounded or reclassified); it stays for the record but is never used."""

    # Indexes are few on purpose (each one costs every import): the unique (agency,
    # source_id) serves agency-wide scans, (agency, category, occurred_at) the forecasts and
    # maps, and dataset_id the deletion of a dataset.
    # On PostgreSQL (migration 0005) the two references are enforced by triggers, once per
    # statement rather than by per-row foreign key checks, and source_id/category use the
    # "C" collation; CASCADE is Django's deletion collector, as before. A migration that
    # alters `agency` or `dataset` there would add a plain (per-row) foreign key back.
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="incidents")
    source_id = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    date_precision = models.CharField(max_length=8, default="minute")
    raw_category = models.CharField(max_length=200)
    category = models.CharField(max_length=32, blank=True, choices=CATEGORY_CHOICES)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    address = models.CharField(max_length=200, blank=True)
    district = models.CharField(max_length=50, blank=True)
    location_withheld = models.BooleanField(default=False)
    cancelled = models.BooleanField(default=False)
    # Its id's records minus the cancelling rows applied to it (SLMPD lists one row per
    # victim, and a Count = -1 row withdraws one of them): cancelled when it reaches 0.
    net_records = models.SmallIntegerField(db_default=1)

    objects = IncidentQuerySet.as_manager()  # type: ignore[misc]  # narrows TenantOwned's

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "source_id"], name="one_incident_per_id")
        ]
        indexes = [
            models.Index(fields=["agency", "category", "occurred_at"], name="incident_cat_time"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.category or self.raw_category} {self.occurred_at:%Y-%m-%d}"


class PendingCancellation(TenantOwned):
    """Cancelling records whose incident is not in the agency's data yet (uploads can come
    out of order: a month with the ``Count = -1`` row before the month with its record).
    The import that brings the record applies them and removes them; deleting the
    dataset that held them removes them too."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE,
                                related_name="pending_cancellations")
    source_id = models.CharField(max_length=100)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["agency", "source_id"], name="pending_cancel_id")]

    def __str__(self) -> str:
        return f"{self.source_id} x{self.count}"


class CategoryOverride(TenantOwned):
    """An agency's own mapping of one raw offence text to a standard category."""

    raw_text = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)

    class Meta:
        ordering = ["raw_text"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "raw_text"], name="one_override_per_text")
        ]

    def __str__(self) -> str:
        return f"{self.raw_text} -> {self.category}"


class MappingPreset(TenantOwned):
    """A saved column mapping for generic CSV files, reusable across uploads."""

    name = models.CharField(max_length=100)
    mapping = models.JSONField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="one_preset_per_name")
        ]

    def __str__(self) -> str:
        return self.name


HORIZON_CHOICES = [(1, "next day"), (7, "next 7 days"), (28, "next 28 days")]


class ForecastModel(TenantOwned):
    """What an agency forecasts: a target category, a horizon, a method and its settings."""

    name = models.CharField(max_length=100)
    category = models.CharField(
        max_length=32, blank=True, choices=CATEGORY_CHOICES, help_text="Blank: all crime."
    )
    horizon_days = models.PositiveSmallIntegerField(choices=HORIZON_CHOICES, default=7)
    method = models.CharField(max_length=32, default="hgb_poisson")
    parameters = models.JSONField(default=dict, blank=True)
    cell_size_m = models.PositiveIntegerField(default=150)
    active = models.BooleanField(default=True, help_text="Regenerate its forecast daily.")
    use_covariates = models.BooleanField(
        default=False,
        help_text="Machine-learning methods also learn from the agency's covariate layers; "
        "the backtest then shows the same method without them.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def target_label(self) -> str:
        return CATEGORIES[self.category].label if self.category else "All crime"

    @property
    def method_label(self) -> str:
        """The method's name in words, as its forecaster declares it."""
        from predictions.forecasting.registry import INFO

        info = INFO.get(self.method)
        return info.label if info else self.method

    def latest_run(self) -> TrainingRun | None:
        """The most recently finished successful training run."""
        return self.runs.filter(status=TrainingRun.Status.DONE).order_by("-finished_at").first()


class TrainingRun(BackgroundJob):
    """One training of a model: backtest, final fit, stored artifact and model card."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Training"
        DONE = "done", "Trained"
        FAILED = "failed", "Failed"

    model = models.ForeignKey(ForecastModel, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    n_events = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    model_card = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage = models.CharField(max_length=120, blank=True,
                             help_text="What the run is doing, e.g. backtest window 12 of 52.")
    selection = models.JSONField(
        default=dict, blank=True,
        help_text="The recommended method: validation margins over the best baseline, and the "
                  "test windows' (predictions.forecasting.selection).")

    get_status_display = BackgroundJob.job_status_display  # (in the class: Django keeps it)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model} run #{self.pk} ({self.status})"


class Forecast(TenantOwned):
    """Scores for every active cell for one window [window_start, window_start + horizon)."""

    model = models.ForeignKey(ForecastModel, on_delete=models.CASCADE, related_name="forecasts")
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="forecasts")
    window_start = models.DateField(help_text="Local date the window starts.")
    horizon_days = models.PositiveSmallIntegerField()
    grid = models.JSONField(help_text="crs, cell_size, origin_x, origin_y, nx, ny")
    n_cells = models.PositiveIntegerField(default=0)
    expected_total = models.FloatField(default=0)
    fairness = models.JSONField(
        default=dict, blank=True, help_text="Exposure of each group of residents (area layer)."
    )

    class Fit(models.TextChoices):
        STORED = "stored", "the run's stored model (sha256 checked)"
        REFIT = "refit", "the run's method refitted on every incident before the window"

    fit = models.CharField(max_length=8, choices=Fit.choices, default=Fit.REFIT,
                           help_text="Which fit made the scores (see TrainingRun policy).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "window_start"], name="one_forecast_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.window_start}"


class ForecastCell(models.Model):
    """One cell of a forecast; its polygon is stored ready to serve (GeoJSON text)."""

    forecast = models.ForeignKey(Forecast, on_delete=models.CASCADE, related_name="cells")
    cell = models.PositiveIntegerField(help_text="Flat index: row * nx + col.")
    col = models.PositiveIntegerField()
    row = models.PositiveIntegerField()
    rank = models.PositiveIntegerField()
    score = models.FloatField()
    expected_count = models.FloatField(null=True)
    geometry = models.TextField(help_text="GeoJSON Polygon in lon/lat.")
    explanation = models.JSONField(
        null=True, blank=True,
        help_text="Why the cell scores high (predictions.forecasts.explanations); top cells only.")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["forecast", "rank"], name="one_cell_per_rank")
        ]

    def __str__(self) -> str:
        return f"cell {self.cell} rank {self.rank}"


class ForecastScore(TenantOwned):
    """An issued forecast scored once its window closed (predictions.scoring): hit rate and
    PAI at the coverage viewed and at 1/2/5 %, against the baseline the agency would
    otherwise have used, and the exposure of each group of residents at the coverage viewed.

    Kept when the forecast itself is deleted after retention (its window is copied here):
    the running score and the public scorecard are made of these rows."""

    class CoverageSource(models.TextChoices):
        VIEWED = "viewed", "the coverage its readers viewed most often"
        DEFAULT = "default", "the map's default coverage (nobody read it)"

    model = models.ForeignKey(ForecastModel, on_delete=models.CASCADE, related_name="scores")
    forecast = models.OneToOneField(Forecast, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="score")
    window_start = models.DateField(help_text="Local date the window starts.")
    horizon_days = models.PositiveSmallIntegerField()
    issued_at = models.DateTimeField(help_text="When the forecast was written.")
    coverage = models.FloatField(help_text="The coverage viewed: share of the cells flagged.")
    flagged_cells = models.PositiveIntegerField()
    coverage_source = models.CharField(max_length=8, choices=CoverageSource.choices)
    reads = models.PositiveIntegerField(
        default=0, help_text="Recorded reads of the forecast that named a coverage.")
    cells = models.PositiveIntegerField(help_text="Cells the forecast ranked.")
    events = models.PositiveIntegerField(help_text="Incidents of its target in its window.")
    hit_rate = models.FloatField(null=True, help_text="At the coverage viewed; None: no "
                                                      "incident in the window.")
    pai = models.FloatField(null=True)
    baseline = models.CharField(max_length=32, help_text="The baseline method.")
    baseline_hit_rate = models.FloatField(null=True)
    baseline_pai = models.FloatField(null=True)
    metrics = models.JSONField(
        default=dict, help_text='{"model": {label: counts and rates}, "baseline": {...}} for '
                                'the labels "viewed", "1%", "2%", "5%".')
    exposure = models.JSONField(
        default=dict, blank=True, help_text="Exposure of each group at the coverage viewed, "
                                            "the forecast's and the baseline's.")
    scored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(fields=["model", "window_start"],
                                    name="one_score_per_window"),
        ]

    def __str__(self) -> str:
        return f"score of {self.model} from {self.window_start}"


class AreaLayer(TenantOwned):
    """A polygon or point layer of an agency (census tracts, neighbourhoods, places).

    Stored as a lon/lat GeoJSON FeatureCollection whose properties are the numeric attributes
    (plus ``label``). Polygon layers may feed the ML covariates and the fairness report.
    """

    class Kind(models.TextChoices):
        POLYGONS = "polygons", "polygons"
        POINTS = "points", "points"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    source_crs = models.CharField(max_length=200)
    n_features = models.PositiveIntegerField()
    attributes = models.JSONField(
        default=dict, help_text="numeric attribute -> {kind: count|rate, min, max, missing}"
    )
    geojson = models.TextField(help_text="FeatureCollection in lon/lat (EPSG:4326).")
    use_as_covariates = models.BooleanField(default=False)
    use_for_fairness = models.BooleanField(default=False)
    use_as_reference = models.BooleanField(
        default=False, help_text="Its outlines and names locate cells on the maps and exports "
                                 "(one polygon layer per agency).")
    population_attribute = models.CharField(max_length=100, blank=True)
    groupings = models.JSONField(
        default=list, blank=True,
        help_text='[{"name": ..., "kind": "majority", "columns": [...]} or '
        '{"name": ..., "kind": "quantile", "attribute": ..., "q": 5}]',
    )
    fairness_band = models.JSONField(default=list, blank=True, help_text="[low, high]")
    text_fields = models.JSONField(
        default=list, blank=True,
        help_text="Short text columns kept as candidate name fields (in each feature's "
        "``names``): [{name, distinct, missing, example}]")
    label_field = models.CharField(
        max_length=100, blank=True, help_text="The text column the default names (``label``) "
        "come from, guessed from the usual name columns; blank: numbered.")
    name_field = models.CharField(
        max_length=100, blank=True, help_text="The text column that names the areas on the "
        "maps and exports; blank: the default names.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="one_layer_per_name"),
            models.UniqueConstraint(
                fields=["agency"], condition=models.Q(use_for_fairness=True),
                name="one_fairness_layer_per_agency",
            ),
            models.UniqueConstraint(
                fields=["agency"], condition=models.Q(use_as_reference=True),
                name="one_reference_layer_per_agency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LayerUpload(BackgroundJob):
    """One uploaded layer file, read by a task (predictions.areas.tasks.import_layer) into
    an AreaLayer, all or nothing. The file's bytes wait in ``data`` (never a file on disk)
    and are cleared once the task stored the layer or refused the file."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Reading the layer"
        DONE = "done", "Stored"
        FAILED = "failed", "Refused (nothing stored)"

    name = models.CharField(max_length=100, help_text="The layer's name.")
    file_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField(default=b"", editable=False,
                              help_text="The file, until the task has read it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    get_status_display = BackgroundJob.job_status_display  # (in the class: Django keeps it)
    summary = models.JSONField(default=dict, blank=True,
                               help_text="features, vertices, repairs, seconds")
    layer = models.ForeignKey(AreaLayer, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="uploads")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


# the analyst's workbench: near repeats and weekly CompStat reports (predictions.workbench)
class KnoxRun(BackgroundJob):
    """One near-repeat (Knox) analysis of a category over a period, run by a task
    (predictions.workbench.knox); ``result`` holds the tables and the plain-words zone."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Permuting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    start = models.DateField(help_text="First local day of the period.")
    end = models.DateField(help_text="Last local day of the period (included).")
    distance_bands = models.JSONField(help_text="Band edges in metres.")
    time_bands = models.JSONField(help_text="Band edges in days.")
    permutations = models.PositiveIntegerField(default=99)
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    get_status_display = BackgroundJob.job_status_display  # (in the class: Django keeps it)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Knox {self.category} {self.start}..{self.end} ({self.status})"


class CompStatReport(BackgroundJob):
    """One weekly CompStat report of an agency (a local Monday-to-Sunday week): its figures
    (``data``) and its PDF, made by a task (predictions.workbench.compstat). The weekly beat
    makes one per agency and week (``scheduled``); analysts may ask for more at any time."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Counting"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    week_start = models.DateField(help_text="The Monday the week starts (local).")
    scheduled = models.BooleanField(default=False, help_text="Made by the weekly beat.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    data = models.JSONField(default=dict, blank=True)
    pdf = models.BinaryField(default=b"", editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    get_status_display = BackgroundJob.job_status_display  # (in the class: Django keeps it)

    class Meta:
        ordering = ["-week_start", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "week_start"],
                                    condition=models.Q(scheduled=True),
                                    name="one_scheduled_compstat_per_week"),
        ]

    def __str__(self) -> str:
        return f"CompStat week of {self.week_start} ({self.status})"

    @property
    def week_end(self):
        """The Sunday the week ends (local)."""
        from datetime import timedelta

        return self.week_start + timedelta(days=6)
