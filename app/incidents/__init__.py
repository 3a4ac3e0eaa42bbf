"""Incidents as the API shows them, and their acknowledgement."""
