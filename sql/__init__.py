"""The named queries (sql/*.sql), carried by the installed package as `clinic.queries`
and loaded once by clinic/sql.py through importlib.resources."""
