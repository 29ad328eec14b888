"""The serving benchmark's parts (benchmarks/serve.py is the entry point): process control, load
generation, statistics and the report, one module each, plus the records they pass along.
"""
