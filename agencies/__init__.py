"""Tenancy: agencies, their members and roles, and oversight boards."""
