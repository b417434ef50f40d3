"""The yoyo migrations (migrations/*.sql), carried by the installed package as
`clinic.migrations` and applied by clinic/migrate.py through importlib.resources."""
