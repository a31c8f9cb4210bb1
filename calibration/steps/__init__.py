"""Calibration steps, each a configure + measure pair (see base.Step)."""
