"""Every Celery task of the predictions app, for the worker's autodiscovery.

Each room keeps its own tasks (``incidents.tasks``, ``modelling.tasks``, ``forecasts.tasks``,
``scoring.tasks``); they take ids and are safe to run twice. Nothing imports this module but Celery.
"""

from predictions.areas.tasks import import_layer, requeue_stalled_layers
from predictions.forecasts.tasks import make_forecast, regenerate_forecasts
from predictions.incidents.tasks import import_dataset, requeue_stalled_imports
from predictions.modelling.tasks import requeue_stalled_runs, train_model
from predictions.scoring.tasks import score_closed_forecasts, score_one
from predictions.workbench.compstat_tasks import (
    compstat_report,
    requeue_stalled_compstat,
    weekly_compstat,
)
from predictions.workbench.knox_tasks import knox_test, requeue_stalled_knox

__all__ = ["import_dataset", "import_layer", "make_forecast", "regenerate_forecasts",
           "requeue_stalled_imports", "requeue_stalled_layers", "requeue_stalled_runs",
           "train_model", "compstat_report", "requeue_stalled_compstat", "weekly_compstat",
           "knox_test", "requeue_stalled_knox", "score_closed_forecasts", "score_one"]
