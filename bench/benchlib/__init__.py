"""Modules of bench/compare: start real systems on loopback, drive them, report."""
