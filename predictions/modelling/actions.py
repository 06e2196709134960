"""State changes of the modelling room, each with its audit row in the same transaction."""

from __future__ import annotations

from django.db import transaction

from agencies.recording import record_action
from audit.events import Action
from predictions.forecasting import METHODS
from predictions.modelling.tasks import train_model
from predictions.modelling.training import TrainingError
from predictions.models import ForecastModel, TrainingRun


@transaction.atomic
def do_start_training(model: ForecastModel, *, acting_user) -> TrainingRun:
    """Create a training run and queue it once the transaction commits."""
    if model.method not in METHODS:
        raise TrainingError(f"Unknown method {model.method!r}.")
    run = TrainingRun.objects.create(agency=model.agency, model=model, started_by=acting_user)
    record_action(Action.MODEL_TRAIN_START, acting_user=acting_user, agency=model.agency,
                  object_type="training_run", object_id=run.pk,
                  details={"model": model.name, "method": model.method,
                           "category": model.category, "horizon_days": model.horizon_days})
    transaction.on_commit(lambda: train_model.delay(run.pk))
    return run
