"""Export a schedule spec as a short PyTorch snippet (``to_pytorch_code``).

This module never imports torch: it writes source text that uses ``torch.optim.lr_scheduler``.
(The adapter that drives a real optimizer lives in :mod:`lrstudio.trainer.schedule_adapter`.)
"""

from __future__ import annotations

import json
from typing import Any

from lrstudio.core.schedules import ScheduleError, validate_spec
from lrstudio.core.schedules.base import _check_base_lr
from lrstudio.core.schedules.expr import compile_expr

__all__ = ["to_pytorch_code"]


# -- export as PyTorch code ----------------------------------------------------------------------
def _lit(v: Any) -> str:
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return repr(v)
        return repr(v)
    return repr(v)


def _native(norm: dict[str, Any], base_lr: float) -> str | None:
    """Constructor call of a torch scheduler that reproduces the schedule exactly, or None."""
    name, p = norm["name"], norm["params"]
    if name == "constant":
        if p["total_iters"] == 0 or p["factor"] == 1.0:
            return None
        return f"ConstantLR(optimizer, factor={_lit(p['factor'])}, total_iters={p['total_iters']})"
    if name == "step":
        return f"StepLR(optimizer, step_size={p['step_size']}, gamma={_lit(p['gamma'])})"
    if name == "multistep":
        return f"MultiStepLR(optimizer, milestones={p['milestones']!r}, gamma={_lit(p['gamma'])})"
    if name == "exponential" and p["decay_steps"] == 1:
        return f"ExponentialLR(optimizer, gamma={_lit(p['gamma'])})"
    if name == "polynomial" and p["end_lr"] == 0.0 and not p["cycle"]:
        return f"PolynomialLR(optimizer, total_iters={p['decay_steps']}, power={_lit(p['power'])})"
    if name == "linear":
        return (f"LinearLR(optimizer, start_factor={_lit(p['start_factor'])}, "
                f"end_factor={_lit(p['end_factor'])}, total_iters={p['total_iters']})")
    if name == "cosine" and p["after_end"] == "rise" and p["warmup_steps"] == 0:
        eta = p["eta_min"] + p["alpha"] * base_lr
        return f"CosineAnnealingLR(optimizer, T_max={p['T_max']}, eta_min={_lit(eta)})"
    if (name == "cosine_restarts" and float(p["T_mult"]).is_integer() and p["m_mul"] == 1.0):
        eta = p["eta_min"] + p["alpha"] * base_lr
        return (f"CosineAnnealingWarmRestarts(optimizer, T_0={p['T_0']}, T_mult={int(p['T_mult'])}, "
                f"eta_min={_lit(eta)})")
    if name == "cyclic":
        down = "None" if p["step_size_down"] is None else str(p["step_size_down"])
        return (f"CyclicLR(optimizer, base_lr={_lit(base_lr)}, max_lr={_lit(p['max_lr'])}, "
                f"step_size_up={p['step_size_up']}, step_size_down={down}, mode={p['mode']!r}, "
                f"gamma={_lit(p['gamma'])}, cycle_momentum=False)")
    if name == "one_cycle" and p["end_lr"] is None:
        return (f"OneCycleLR(optimizer, max_lr={_lit(base_lr)}, total_steps={p['total_steps']}, "
                f"pct_start={_lit(p['pct_start'])}, anneal_strategy={p['anneal_strategy']!r}, "
                f"div_factor={_lit(p['div_factor'])}, final_div_factor={_lit(p['final_div_factor'])}, "
                f"three_phase={p['three_phase']!r}, cycle_momentum=False)")
    if name == "lambda":
        return f"LambdaLR(optimizer, lambda epoch: {compile_expr(p['lr_lambda']).python()})"
    if name == "multiplicative":
        return f"MultiplicativeLR(optimizer, lambda epoch: {compile_expr(p['lr_lambda']).python()})"
    if name == "reduce_on_plateau" and p["cooldown_convention"] == "torch":
        return (f"ReduceLROnPlateau(optimizer, mode={p['mode']!r}, factor={_lit(p['factor'])}, "
                f"patience={p['patience']}, threshold={_lit(p['threshold'])}, "
                f"threshold_mode={p['threshold_mode']!r}, cooldown={p['cooldown']}, "
                f"min_lr={_lit(p['min_lr'])}, eps={_lit(p['eps'])})")
    return None


def to_pytorch_code(spec: Any, base_lr: float) -> str:
    """A short, readable PyTorch snippet that reproduces ``lr_curve(spec, n, base_lr)``.

    The snippet expects a variable ``optimizer`` whose param groups have ``lr = base_lr`` and
    defines ``scheduler``. It uses the matching ``torch.optim.lr_scheduler`` class where one gives
    exactly the same numbers, and ``LambdaLR`` over lrstudio's closed form (spelled out as a Python
    function of ``step``) otherwise. ``reduce_on_plateau`` with the Paddle convention has no torch
    equivalent and raises :class:`ScheduleError`.
    """
    norm = validate_spec(spec)
    base = _check_base_lr(base_lr)
    if norm["name"] == "reduce_on_plateau" and norm["params"]["cooldown_convention"] != "torch":
        raise ScheduleError("cooldown_convention", "paddle",
                            "'torch' to export (torch has no Paddle-style cooldown)", "to_pytorch_code")
    head = [
        f"# lrstudio schedule: {json.dumps(norm, sort_keys=True)}",
        f"# base learning rate {base!r}: create the optimizer with lr={base!r}",
    ]
    native = _native(norm, base)
    if native is not None:
        cls = native.split("(", 1)[0]
        imports = ["import math", ""] if "math." in native else []
        lines = [*head, *imports, f"from torch.optim.lr_scheduler import {cls}", "", f"scheduler = {native}"]
        if norm["name"] == "reduce_on_plateau":
            lines.append("# call scheduler.step(metric) once per scheduling step")
        return "\n".join(lines) + "\n"
    if norm["name"] == "sequential":
        natives = [_native(c, base) for c in norm["params"]["schedules"]]
        if all(n is not None for n in natives):
            classes = sorted({n.split("(", 1)[0] for n in natives} | {"SequentialLR"})
            body = ",\n    ".join(natives)  # type: ignore[arg-type]
            return "\n".join([
                *head,
                f"from torch.optim.lr_scheduler import {', '.join(classes)}",
                "",
                "scheduler = SequentialLR(",
                "    optimizer,",
                f"    schedulers=[\n    {body},\n    ],",
                f"    milestones={norm['params']['milestones']!r},",
                ")",
            ]) + "\n"
    defs = _fn_source(norm, base, "lr_at", [0])
    return "\n".join([
        *head,
        "import math",
        "",
        *(["import numpy as np"] if any("np." in line for line in defs) else []),
        "from torch.optim.lr_scheduler import LambdaLR",
        "",
        *defs,
        "",
        "def lr_factor(step):",
        f"    return lr_at(step) / {base!r}" if base != 0 else "    return 0.0",
        "",
        "",
        "scheduler = LambdaLR(optimizer, lr_factor)",
    ]) + "\n"


def _fn_source(norm: dict[str, Any], base: float, fname: str, counter: list[int]) -> list[str]:
    """Source of ``def fname(step)`` returning lrstudio's LR at the int ``step`` (plus helpers)."""
    name, p = norm["name"], norm["params"]
    b = repr(base)
    pre: list[str] = []
    body: list[str]

    def child(spec: dict[str, Any]) -> str:
        counter[0] += 1
        cname = f"lr_at_{counter[0]}"
        pre.extend(_fn_source(spec, base, cname, counter))
        return cname

    if name == "constant":
        body = [f"return {b} * ({p['factor']!r} if step < {p['total_iters']} else 1.0)"]
    elif name == "piecewise_constant":
        vals = [v * base if p["relative"] else v for v in p["values"]]
        cmp = "<=" if p["switch"] == "at_boundary" else "<"
        body = [f"k = sum(1 for b in {p['boundaries']!r} if b {cmp} step)", f"return {vals!r}[k]"]
    elif name == "step":
        body = [f"return {b} * {p['gamma']!r} ** (step // {p['step_size']})"]
    elif name == "multistep":
        body = [f"return {b} * {p['gamma']!r} ** sum(1 for m in {p['milestones']!r} if m <= step)"]
    elif name in ("exponential", "natural_exp", "inverse_time"):
        x = f"(step // {p['decay_steps']})" if p["staircase"] else f"(step / {p['decay_steps']})"
        body = [{"exponential": f"return {b} * {p['gamma']!r} ** {x}",
                 "natural_exp": f"return {b} * math.exp(-{p['gamma']!r} * {x})",
                 "inverse_time": f"return {b} / (1.0 + {p['gamma']!r} * {x})"}[name]]
    elif name == "polynomial":
        d = p["decay_steps"]
        frac = f"step / ({d} * max(1, math.ceil(step / {d})))" if p["cycle"] else f"min(step, {d}) / {d}"
        body = [f"return ({b} - {p['end_lr']!r}) * (1.0 - {frac}) ** {p['power']!r} + {p['end_lr']!r}"]
    elif name == "linear":
        body = [f"frac = min(step, {p['total_iters']}) / {p['total_iters']}",
                f"return {b} * ({p['start_factor']!r} + ({p['end_factor']!r} - {p['start_factor']!r}) * frac)"]
    elif name == "factor":
        k = f"step // {p['step_size']}" + (" + 1" if p["convention"] == "d2l" else "")
        body = [f"return max({p['stop_factor_lr']!r}, {b} * {p['factor']!r} ** ({k}))"]
    elif name == "multi_factor":
        cmp = "<" if p["convention"] == "d2l" else "<="
        body = [f"return {b} * {p['factor']!r} ** sum(1 for s in {p['steps']!r} if s {cmp} step)"]
    elif name == "noam":
        body = ["a = 1.0 if step == 0 else step ** -0.5",
                f"return {b} * {p['d_model']!r} ** -0.5 * min(a, {p['warmup_steps']} ** -1.5 * step)"]
    elif name == "inverse_sqrt":
        w = p["num_warmup_steps"]
        ts = p["timescale"] if p["timescale"] is not None else (w or 10_000)
        body = [f"if step < {w}:", f"    return {b} * step / {max(1, w)}",
                f"return {b} / math.sqrt((step + {ts - w}) / {ts})"]
    elif name == "wsd":
        w, st, d, r = p["num_warmup_steps"], p["num_stable_steps"], p["num_decay_steps"], p["min_lr_ratio"]
        warm = {"linear": "x", "cosine": "0.5 * (1.0 - math.cos(math.pi * x))", "1-sqrt": "1.0 - math.sqrt(1.0 - x)"}
        dec = {"linear": "1.0 - x", "cosine": f"0.5 * (1.0 + math.cos(math.pi * {p['num_cycles']!r} * 2.0 * x))",
               "1-sqrt": "1.0 - math.sqrt(x)"}
        body = [f"if step < {w}:", f"    x = step / {max(1, w)}", f"    f = {warm[p['warmup_type']]}",
                f"    return {b} * max(0.0, f * (1.0 - {r!r}) + {r!r})",
                f"if step < {w + st}:", f"    return {b}",
                f"if step < {w + st + d}:", f"    x = (step - {w + st}) / {max(1, d)}",
                f"    f = {dec[p['decay_type']]}", f"    return {b} * max(0.0, f * (1.0 - {r!r}) + {r!r})",
                f"return {b} * {r!r}"]
    elif name == "lambda":
        body = ["epoch = float(step)", f"return {b} * ({compile_expr(p['lr_lambda']).python()})"]
    elif name == "multiplicative":
        f = compile_expr(p["lr_lambda"]).python()
        body = [f"lr = {b}", "for k in range(1, step + 1):", "    epoch = float(k)", f"    lr = lr * ({f})",
                "return lr"]
    elif name in ("cosine", "cosine_restarts"):
        floor = p["eta_min"] + p["alpha"] * base
        if name == "cosine":
            w, T = p["warmup_steps"], p["T_max"]
            s = f"min(step, {T})" if p["after_end"] == "hold" else "step"
            body = []
            if w > 0:
                body += [f"if step < {w}:",
                         f"    return {p['warmup_begin_lr']!r} + ({b} - {p['warmup_begin_lr']!r}) * step / {w}"]
            body += [f"return {floor!r} + ({b} - {floor!r}) * (1 + math.cos(math.pi * ({s} - {w}) / {T - w})) / 2"]
        else:
            body = [f"i, start, length = 0, 0.0, float({p['T_0']})",
                    "while step >= start + length:",
                    f"    i, start, length = i + 1, start + length, length * {float(p['T_mult'])!r}",
                    f"amp = ({b} - {floor!r}) * {p['m_mul']!r} ** i",
                    f"return {floor!r} + amp * (1 + math.cos(math.pi * (step - start) / length)) / 2"]
    elif name in ("linear_cosine", "noisy_linear_cosine"):
        d = p["decay_steps"]
        body = [f"g = min(step, {d})", f"linear = ({d} - g) / {d}",
                f"cosine = 0.5 * (1.0 + math.cos(math.pi * 2.0 * {p['num_periods']!r} * g / {d}))"]
        if name == "noisy_linear_cosine":
            pre.extend([f"_noise_{fname} = []  # N(0, 1) draws of default_rng({p['seed']}), one per step", ""])
            body += [f"noise = _noise_{fname}",
                     "if step >= len(noise):  # same prefix for any length: regenerate twice as many",
                     f"    noise[:] = np.random.default_rng({p['seed']}).standard_normal(2 * step + 1024).tolist()",
                     "eps = noise[step]",
                     f"std = math.sqrt({p['initial_variance']!r} / (1.0 + g) ** {p['variance_decay']!r})",
                     "linear = linear + eps * std",
                     f"return max(0.0, {b} * (({p['alpha']!r} + linear) * cosine + {p['beta']!r}))"]
        else:
            body += [f"return {b} * (({p['alpha']!r} + linear) * cosine + {p['beta']!r})"]
    elif name == "cyclic":
        up = p["step_size_up"]
        down = p["step_size_down"] if p["step_size_down"] is not None else up
        scale = {"triangular": "1.0", "triangular2": "1.0 / 2.0 ** (cycle - 1)",
                 "exp_range": f"{p['gamma']!r} ** step"}[p["mode"]]
        body = [f"total, ratio = {float(up + down)!r}, {up / float(up + down)!r}",
                "cycle = math.floor(1 + step / total)", "x = 1.0 + step / total - cycle",
                "s = x / ratio if x <= ratio else (x - 1) / (ratio - 1)",
                f"return {b} + ({p['max_lr']!r} - {b}) * s * {scale}"]
    elif name == "one_cycle":
        from lrstudio.core.schedules.cyclic import _one_cycle_phases

        phases = _one_cycle_phases(p, base)
        ann = ("hi + (lo - hi) / 2.0 * (math.cos(math.pi * pct) + 1)" if p["anneal_strategy"] == "cos"
               else "(hi - lo) * pct + lo")
        body = [f"phases = {[tuple(float(v) for v in ph) for ph in phases]!r}",
                f"if step >= {p['total_steps']}:", f"    return {phases[-1][2]!r}",
                "start = 0.0", "for k, (end, lo, hi) in enumerate(phases):",
                "    if step <= end or k == len(phases) - 1:", "        pct = (step - start) / (end - start)",
                f"        return {ann}", "    start = end"]
    elif name == "linear_warmup":
        inner = child(p["inner"])
        end = base if p["end_lr"] is None else p["end_lr"]
        w = p["warmup_steps"]
        body = [f"if step < {w}:", f"    return ({end!r} - {p['start_lr']!r}) * step / {max(w, 1)} + {p['start_lr']!r}",
                f"return {inner}(step - {w})"]
    elif name == "sequential":
        names = [child(c) for c in p["schedules"]]
        starts = [0, *p["milestones"]]
        body = [f"k = sum(1 for m in {p['milestones']!r} if m <= step)",
                f"start = {starts!r}[k]", f"return [{', '.join(names)}][k](step - start)"]
    else:
        raise ScheduleError("name", name, "a schedule that can be exported", "to_pytorch_code")
    return [*pre, f"def {fname}(step):", *("    " + line for line in body), ""]
