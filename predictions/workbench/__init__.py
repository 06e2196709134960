"""The analyst's workbench (issue #22): statistics an analyst asks of the agency's data."""
