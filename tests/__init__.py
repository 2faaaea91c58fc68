"""Tests of ShelterWatch."""
