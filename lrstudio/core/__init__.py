"""Domain core: schedules, optimizers, data, models, the training loop. No Qt, no SQL."""
