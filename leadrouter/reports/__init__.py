"""Managers' reports: the routing report (page, JSON, CSV) and the decision explorer."""
