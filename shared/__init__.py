"""Switchboard's connector layer: everything integrations share. Imports nothing from functions/ or infra/."""
