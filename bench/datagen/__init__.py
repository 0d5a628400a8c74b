"""The benchmark data generator: a year of helpline history, loaded with COPY (see generate_data.py)."""
