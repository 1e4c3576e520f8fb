"""Datasets: load, validate, split and digest."""
