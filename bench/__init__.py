"""The benchmark suite: ``just bench`` (``python -m bench``), see ``bench/README.md``.

It measures a raw Celery baseline and the product's paths in one run, on a vhost and a
database of its own, and reports figures as medians, percentiles and ratios to that
baseline, because the machine it runs on is shared and noisy.
"""
