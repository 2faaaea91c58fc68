"""Shelter register, inspections graded into classes 1–4, and their rectification follow-up."""
