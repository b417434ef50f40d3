"""The message catalogs (ru.po, en.po), read by clinic/texts.py."""
