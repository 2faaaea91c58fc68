"""Checks of the production deployment files in deploy/."""
