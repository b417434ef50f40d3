"""Benchmarks and load drivers for clinic (not run by the unit suite).

    .venv/bin/python -m bench.booking    race, booking throughput vs the reference
                                         transaction, slot and catalog reads, RSS
    .venv/bin/python -m bench.webhook    Telegram webhook throughput and exactly-once intake

Each starts its own server process, fake Bot API process and databases, and removes
them when it ends (also on Ctrl-C or SIGTERM). Raw figures go to bench/results/.
"""
