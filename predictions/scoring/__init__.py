"""Issued forecasts scored after the fact: each forecast is scored once its window has
closed (``scoring``, the beat's ``tasks.score_closed_forecasts``), and the scores make the
model page's running score and the public scorecard (``scorecard``)."""
