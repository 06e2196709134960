"""Every Celery task of the predictions app, for the worker's autodiscovery.

Each room keeps its own tasks (``incidents.tasks``, ``modelling.tasks``, ``forecasts.tasks``);
they take ids and are safe to run twice. Nothing imports this module but Celery.
"""

from predictions.forecasts.tasks import make_forecast, regenerate_forecasts
from predictions.incidents.tasks import import_dataset
from predictions.modelling.tasks import train_model

__all__ = ["import_dataset", "make_forecast", "regenerate_forecasts", "train_model"]
