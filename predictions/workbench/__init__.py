"""The analyst's workbench (issue #22): counts, trends and timing of the agency's incidents by
named area, near repeats (Knox), did a patrol work (WDD) and CompStat reports, under
/a/<slug>/workbench/, for analysts and admins. One module per page; the statistics are the
engine's (predictions.forecasting), the counting is the database's (predictions.bridge)."""
