"""SQL Drift Monitor: ML model monitoring computed inside the data warehouse."""

__version__ = "0.1.0"
