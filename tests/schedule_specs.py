"""Schedule specs shared by the adapter tests (tests/trainer) and the code-export tests (tests/core):
one non-default spec per schedule, small periods so every feature shows within N steps."""

from __future__ import annotations

import numpy as np

N = 320

SPECS = {
    "constant": {"factor": 0.25, "total_iters": 30},
    "piecewise_constant": {"boundaries": [50, 120, 121], "values": [0.1, 0.05, 0.02, 0.01],
                           "switch": "after_boundary"},
    "step": {"step_size": 40, "gamma": 0.5},
    "multistep": {"milestones": [30, 80, 200], "gamma": 0.3},
    "exponential": {"gamma": 0.5, "decay_steps": 60, "staircase": True},
    "natural_exp": {"gamma": 0.5, "decay_steps": 50},
    "inverse_time": {"gamma": 0.7, "decay_steps": 20, "staircase": True},
    "polynomial": {"decay_steps": 90, "end_lr": 0.001, "power": 2.0, "cycle": True},
    "linear": {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 100},
    "factor": {"factor": 0.99, "stop_factor_lr": 0.02, "step_size": 2},
    "multi_factor": {"steps": [50, 100], "factor": 0.5},
    "noam": {"d_model": 64.0, "warmup_steps": 40},
    "inverse_sqrt": {"num_warmup_steps": 25},
    "wsd": {"num_warmup_steps": 30, "num_stable_steps": 100, "num_decay_steps": 120, "decay_type": "1-sqrt",
            "min_lr_ratio": 0.1},
    "lambda": {"lr_lambda": "0.5 * (1 + cos(pi * min(epoch, 200) / 200))"},
    "multiplicative": {"lr_lambda": "0.97 if epoch % 10 == 0 else 1"},
    "linear_warmup": {"inner": {"name": "cosine", "params": {"T_max": 200}}, "warmup_steps": 20,
                      "start_lr": 0.001},
    "sequential": {"schedules": [{"name": "constant"}, {"name": "step", "params": {"step_size": 20}},
                                 {"name": "linear_warmup", "params": {"warmup_steps": 10,
                                                                      "inner": {"name": "exponential"}}}],
                   "milestones": [50, 150]},
    "cosine": {"T_max": 150, "eta_min": 0.001, "after_end": "hold", "warmup_steps": 10},
    "cosine_restarts": {"T_0": 20, "T_mult": 1.5, "m_mul": 0.8, "alpha": 0.1},
    "linear_cosine": {"decay_steps": 250, "num_periods": 2.0},
    "noisy_linear_cosine": {"decay_steps": 250, "seed": 7},
    "cyclic": {"max_lr": 0.3, "step_size_up": 30, "mode": "triangular2"},
    "one_cycle": {"total_steps": 300, "three_phase": True, "end_lr": 1e-4},
    "reduce_on_plateau": {"patience": 3, "cooldown": 2, "factor": 0.5, "cooldown_convention": "paddle"},
    # issue 15 families
    "hf_linear": {"num_warmup_steps": 30, "num_training_steps": 250},
    "hf_cosine": {"num_warmup_steps": 20, "num_training_steps": 260, "num_cycles": 0.75},
    "hf_cosine_with_restarts": {"num_warmup_steps": 15, "num_training_steps": 280, "num_cycles": 3},
    "hf_polynomial": {"num_warmup_steps": 25, "num_training_steps": 240, "lr_end": 1e-3, "power": 2.0},
    "hf_constant_with_warmup": {"num_warmup_steps": 40},
    "hf_cosine_with_min_lr": {"num_warmup_steps": 20, "num_training_steps": 250, "min_lr": 1e-3,
                              "min_lr_rate": None},
    "hf_cosine_warmup_with_min_lr": {"num_warmup_steps": 20, "num_training_steps": 250, "min_lr_rate": 0.05,
                                     "warmup_lr_rate": 0.1},
    "timm_cosine": {"t_initial": 60, "cycle_mul": 1.5, "cycle_decay": 0.7, "cycle_limit": 4, "warmup_t": 10,
                    "warmup_lr_init": 1e-4, "k_decay": 1.5, "lr_min": 1e-4},
    "timm_tanh": {"t_initial": 80, "t_mul": 2.0, "decay_rate": 0.5, "warmup_t": 15, "lr_min": 1e-4,
                  "cycle_limit": 2},
    "timm_poly": {"t_initial": 90, "power": 2.0, "cycle_limit": 3, "warmup_t": 10, "warmup_prefix": True},
    "optax_warmup_cosine_decay": {"warmup_steps": 30, "decay_steps": 250, "init_value": 1e-3, "end_value": 1e-4,
                                  "exponent": 2.0},
    "optax_exponential_decay": {"transition_steps": 40, "decay_rate": 0.5, "transition_begin": 20,
                                "staircase": True, "end_value": 0.005},
    "optax_piecewise_interpolate": {"interpolate_type": "cosine", "boundaries": [50, 150, 250],
                                    "scales": [2.0, 0.25, 0.1]},
    "optax_linear_onecycle": {"transition_steps": 250, "pct_start": 0.25},
    "optax_cosine_onecycle": {"transition_steps": 280, "div_factor": 10.0},
    "optax_sgdr": {"cycles": [{"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 10,
                                                                                "decay_steps": 100}},
                              {"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 5, "decay_steps": 150,
                                                                                "peak_value": 0.05}}]},
    "chained": {"schedules": [{"name": "linear", "params": {"start_factor": 0.25, "total_iters": 40}},
                              {"name": "step", "params": {"step_size": 60, "gamma": 0.5}}]},
    "hf_warmup_stable_decay": {"num_warmup_steps": 20, "num_decay_steps": 90, "num_training_steps": 260,
                               "decay_type": "linear", "min_lr_ratio": 0.1},
    "noise": {"inner": {"name": "cosine", "params": {"T_max": 200}}, "noise_range_t": [20, 250],
              "noise_pct": 0.3, "noise_type": "uniform", "noise_seed": 5},
}


def plateau_metrics(n: int) -> np.ndarray:
    """A falling, noisy metric for reduce_on_plateau."""
    rng = np.random.default_rng(3)
    return np.exp(-np.arange(n) / 40) + 0.05 * rng.standard_normal(n)


