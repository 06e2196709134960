"""Analysts create and train models from the workspace, and follow the run."""

from html import escape as html_escape

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


def test_before_any_run_it_defaults_to_a_fast_classical_method(world):
    html = world.client_for("anna").get("/a/alpha/models/").content.decode()
    assert '<option value="kde_long" selected>' in html
    assert '<option value="hgb_poisson" selected>' not in html
    assert "No training run yet" in html


def test_it_shows_the_last_runs_recommendation_and_defaults_to_it(world):
    run = world.forecast.run
    sel = run.selection
    assert sel["recommended"] in sel["validation"]["methods"]
    html = world.client_for("anna").get("/a/alpha/models/").content.decode()
    assert f"Recommended method: {sel['recommended']}" in html
    assert f'<option value="{sel["recommended"]}" selected>' in html
    assert html_escape(sel["reason"]) in html


def test_it_says_when_the_baseline_is_the_better_choice(world):
    run = world.forecast.run
    model = run.model
    model.method = "hgb_poisson"  # as if the run had compared a model that lost
    model.save(update_fields=["method"])
    sel = dict(run.selection, candidates=["hgb_poisson"], recommended_is_baseline=True)
    sel["recommended"] = sel["best_baseline"]
    for period in ("validation", "test"):
        sel[period]["methods"]["hgb_poisson"] = {"caught": 1.0, "hit_rate": 0.1,
                                                  "margin": -0.05, "low": -0.2, "high": 0.1}
    type(run).objects.filter(pk=run.pk).update(selection=sel)
    html = world.client_for("anna").get("/a/alpha/models/").content.decode()
    assert "The baseline is the better choice than hgb_poisson." in html
    assert f"-5.0 % [-20.0, +10.0] vs {sel['best_baseline']}" in html


def test_a_baseline_variant_is_its_method_with_the_variants_settings(world):
    from predictions.forecasting.baselines import LONG_MEMORY_KDE

    world.client_for("anna").post("/a/alpha/models/", {
        "name": "Long", "category": "burglary", "horizon_days": 7, "method": "kde_long",
        "cell_size_m": 300})
    model = ForecastModel.objects.get(name="Long")
    assert (model.method, model.parameters) == ("kde", LONG_MEMORY_KDE)


def test_the_run_page_shows_the_choice_and_the_stage(world):
    run = world.forecast.run
    client = world.client_for("anna")
    status = client.get(reverse("training-run-status", args=["alpha", run.pk])).json()
    assert status["stage"] == "Done"
    html = client.get(reverse("training-run", args=["alpha", run.pk])).content.decode()
    assert "Which method earned its place" in html and 'id="selection-table"' in html


def test_the_list_reads_its_runs_in_the_same_number_of_queries_for_more_models(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    forecast = world.forecast  # one model with a finished run
    client = world.client_for("anna")

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/a/alpha/models/").status_code == 200
        return len(seen.captured_queries)

    queries()  # the session's first request saves it: not counted
    one = queries()
    for i in range(3):
        model = ForecastModel.objects.create(agency=world.alpha, name=f"M{i}", method="kde")
        TrainingRun.objects.create(agency=world.alpha, model=model,
                                   status=TrainingRun.Status.DONE,
                                   selection=forecast.run.selection)
    html = client.get("/a/alpha/models/").content.decode()
    assert html.count(f"{TrainingRun.Status.DONE.label}</a>") == 4  # each model's last run
    assert queries() == one
