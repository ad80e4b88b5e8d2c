"""Optional integrations of the tracking API (:mod:`lrstudio.services.tracking`) with training
frameworks. Each module imports its framework at the top and is installed through an extra:
``pip install "lrstudio[lightning]"`` (:mod:`.lightning`), ``pip install "lrstudio[transformers]"``
(:mod:`.transformers`). Nothing here is imported by ``import lrstudio``.
"""
