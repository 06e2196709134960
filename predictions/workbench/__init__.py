"""The analyst's workbench: counts, trends and timing of the agency's incidents by named area
(/a/<slug>/workbench/...), for analysts and admins. One module per page; the statistics are
the engine's (predictions.forecasting), the counting is the database's (predictions.bridge)."""
