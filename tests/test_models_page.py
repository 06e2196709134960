"""Analysts create and train models from the workspace, and follow the run."""

from django.urls import reverse

from predictions.models import ForecastModel, TrainingRun


def test_an_analyst_creates_a_model_and_reads_its_model_card(world,
                                                             django_capture_on_commit_callbacks):
    forecast = world.forecast  # the agency has data
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("forecast-models", args=["alpha"]), {
            "name": "Theft next day", "category": "theft", "horizon_days": 1,
            "method": "recent_counts", "cell_size_m": 300})
    model = ForecastModel.objects.get(name="Theft next day")
    run = model.runs.get()
    assert response["Location"] == reverse("training-run", args=["alpha", run.pk])
    assert run.status == TrainingRun.Status.DONE
    page = client.get(response["Location"]).content.decode()
    assert "Model card" in page and "recent_counts" in page and "oracle" in page
    assert model.forecasts.count() == 1
    assert forecast.model.forecasts.count() == 1


def test_a_cell_size_out_of_range_is_refused(world):
    response = world.client_for("anna").post(reverse("forecast-models", args=["alpha"]), {
        "name": "Tiny", "category": "", "horizon_days": 7, "method": "kde", "cell_size_m": 10})
    assert response.status_code == 400
    assert not ForecastModel.objects.filter(name="Tiny").exists()


def test_the_run_status_endpoint(world):
    run = world.forecast.run
    data = world.client_for("anna").get(
        reverse("training-run-status", args=["alpha", run.pk])).json()
    assert (data["status"], data["progress"]) == ("done", 100)


def test_it_explains_each_method_in_the_forecasters_own_words(world):
    from predictions.forecasting.registry import INFO

    html = world.client_for("anna").get("/a/alpha/models/").content.decode()
    for code, info in INFO.items():
        assert f'<option value="{code}"' in html
        assert f"<dt>{info.label} <code>{code}</code>" in html
    assert "Kernel density <code>kde</code> · baseline" in html


def test_it_names_each_models_method_in_words(world):
    ForecastModel.objects.create(agency=world.alpha, name="Hot", method="prospective_hotspot")
    html = world.client_for("anna").get("/a/alpha/models/").content.decode()
    assert '<td title="prospective_hotspot">Prospective hotspot</td>' in html
