"""The benchmark suite: ``just bench`` (``python -m bench``), see ``bench/README.md``.

It measures the product against two references in one run: the tutorial stack
(``bench.tutorial``, FastAPI and Celery as their tutorials write them) as its peer, and a
bare ASGI app (``bench.ceiling``) as the ceiling of a status read; and, for scale, a raw
Celery baseline. Figures are percentiles, CPU per unit of work and ratios to the
references, because the machine it runs on is shared and noisy.
"""
