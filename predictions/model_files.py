"""Fitted models on disk: written once by a training run, read back (sha256 checked) by the
forecasts made from it. A file that does not match its recorded digest is never unpickled."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from django.conf import settings

from predictions.forecasting import Forecaster
from predictions.models import TrainingRun


class ModelFileError(RuntimeError):
    """The stored model is missing or is not the file its training run recorded."""


def store_model(run: TrainingRun, forecaster: Forecaster) -> tuple[Path, str]:
    """Write the fitted forecaster of `run`; returns its path and sha256."""
    path = Path(settings.MODEL_ROOT) / str(run.agency_id) / f"run-{run.pk}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = pickle.dumps(forecaster, protocol=pickle.HIGHEST_PROTOCOL)
    path.write_bytes(blob)
    return path, hashlib.sha256(blob).hexdigest()


def load_model(run: TrainingRun) -> Forecaster:
    """The fitted forecaster `run` stored, after checking the file against its sha256."""
    if not run.artifact_path or not run.artifact_sha256:
        raise ModelFileError(f"Training run {run.pk} stored no model.")
    try:
        blob = Path(run.artifact_path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"The model file of training run {run.pk} cannot be read: "
                             f"{exc.strerror}.") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if digest != run.artifact_sha256:
        raise ModelFileError(f"The model file of training run {run.pk} does not match its "
                             f"recorded sha256 ({digest[:12]} is not "
                             f"{run.artifact_sha256[:12]}): it was not used.")
    forecaster = pickle.loads(blob)  # noqa: S301 - our own file, digest checked above
    if not isinstance(forecaster, Forecaster):
        raise ModelFileError(f"The model file of training run {run.pk} holds no forecaster.")
    return forecaster
