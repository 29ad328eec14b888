"""Example predictors for berth's python runtime: `berth deploy examples.predictors:WordCounter`."""
