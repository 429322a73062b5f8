"""The claims ledger: each paper claim beside our measured counterpart and a verdict, under two protocols.

Each claim is measured at equal wall time on our machine and at equal optimiser steps (the papers' protocol),
each from its own suite (``SOURCES``): a suite is one sitting from one commit, and the two can disagree (a model
whose steps are dear loses at equal time what it may win per step).

Verdicts: "holds" (we measure at least the claimed advantage), "partly" (the right direction, smaller),
"does not hold" (no advantage, or the opposite), "not measured yet" (no results from the claim's suite,
or a measure no suite provides yet). Absolute numbers on other data (the paper's CelebA-HQ PSNRs) are shown
beside ours without a verdict; the paired gaps below them carry the comparison.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from typing import Any

from nstr.bench.claims import CLAIMS, Claim, paper_value
from nstr.bench.provenance import machine_counts, machine_of, timed
from nstr.bench.suites import EQUAL_STEPS, FRESH, SAME_TABLE, SUITES, TABLE1_BUDGETS, TABLE1_OTHER_BUDGET
from nstr.bench.summary import OK, Record, mean_spread, ok

NOT_MEASURED = "not measured yet"


def _pair_key(record: Record) -> tuple[Any, ...]:
    """What two records must share to be compared: signal, size, seed and, for a wall-time budget, the machine (it
    buys different steps on different machines, so a pair across two would compare machines as well as models;
    at a step budget the machine changes only how long the pair took)."""
    return record["signal"], record.get("size"), record.get("seed"), machine_of(record) if timed(record) else None


def _pairs(records: list[Record], model: str, baseline: str) -> list[tuple[Record, Record]]:
    """(model record, baseline record) on the same signal, size and seed."""
    base = {_pair_key(r): r for r in ok(records) if r["model"] == baseline}
    return [(r, base[_pair_key(r)]) for r in ok(records) if r["model"] == model and _pair_key(r) in base]


def time_to_reach(record: Record, target: float) -> float:
    """Training seconds at the first evaluation reaching ``target`` PSNR (inf if never)."""
    for entry in record.get("history", []):
        if entry.get("psnr", -math.inf) >= target:
            return float(entry.get("seconds", math.inf))
    return math.inf


#: Variants of the ablation suite (``nstr bench ablation``, their records' "label") the claims compare.
PDE_ON, PDE_OFF = "lambda_pde=0.1", "default"
#: model -> (transport term at the paper's weight, off): the default NSTR and the paper's model.
PDE_PAIRS = {"nstr": (PDE_ON, PDE_OFF), "nstr-paper": ("nstr-paper,lambda_pde=0.1", "nstr-paper")}
K_SWEEP = (("K=4", 4), ("K=8", 8), (PDE_OFF, 16), ("K=32", 32), ("K=64", 64))
#: Variants of the dinr suite the DINR claims compare, per protocol ("time": equal wall time, "steps": equal
#: optimiser steps, the paper's): (dynamical, static) and (kinetic term on, off). At equal steps also the paper's
#: own comparison, both models trained with the official recipe.
DINR_PAIRS = {
    "time": (("dinr-siren", "siren"), ("dinr-ffn", "ffn")),
    "steps": (("dinr-siren" + EQUAL_STEPS, "siren" + EQUAL_STEPS), ("dinr-ffn" + EQUAL_STEPS, "ffn" + EQUAL_STEPS),
              ("dinr-official" + EQUAL_STEPS, "siren,official-recipe" + EQUAL_STEPS)),
}
DINR_NOISE_PAIRS = {
    "time": (("dinr-siren,ke=0.1,noise=0.3", "dinr-siren,ke=0,noise=0.3"),),
    "steps": ((f"dinr-official,ke=0.1,noise=0.3{EQUAL_STEPS}", f"dinr-official,ke=0,noise=0.3{EQUAL_STEPS}"),),
}
#: Quality within this many dB counts as equal in the NeRF parameter claim.
EQUAL_QUALITY_DB = 0.5
#: NeRF baselines (labels of the nerf suite's variants): NSTR's variants are the labels starting with "nstr".
NERF_BASELINES = ("hashgrid", "hashgrid-small", "triplane")
#: Where each claim's numbers come from when no ``nstr bench`` suite provides them.
COMMANDS = {"fresh": ".venv/bin/python benchmarks/fresh_bench.py"}


def ablation_records(records: list[Record]) -> list[Record]:
    """The ablation suite's records keyed by variant: ``model`` becomes the variant label."""
    return [{**r, "model": r.get("label", r["model"])} for r in records]


#: The lego suite's variant labels end with the resolution ("nstr,200px"); the ledger reads the scene's own size.
LEGO_LEDGER_SIDE = "200px"


def lego_records(records: list[Record]) -> list[Record]:
    """The lego suite's records at ``LEGO_LEDGER_SIDE``, keyed by variant without the resolution ("nstr"), so the
    NeRF claims read them as they read the nerf suite's."""
    out = []
    for r in records:
        label, _, side = str(r.get("label", "")).partition(",")
        if side == LEGO_LEDGER_SIDE:
            out.append({**r, "model": label})
    return out


def fresh_records(records: list[Record]) -> list[Record]:
    """A budget suite's records with the FreSh-selected cells (labels ending "+fresh") as their own model,
    "<model>+fresh", beside the model at its default embedding."""
    return [{**r, "model": r["model"] + FRESH} if str(r.get("label", "")).endswith(FRESH) else r for r in records]


def table1_at_equal_steps(records: list[Record]) -> list[Record]:
    """The compactness suite's records at table1's budgets (``TABLE1_BUDGETS``, ``TABLE1_OTHER_BUDGET`` for the
    2-D Gaussians): table1's claims at equal steps, one budget per model as in table1."""
    return [r for r in records if r.get("target_params") == TABLE1_BUDGETS.get(r["model"], TABLE1_OTHER_BUDGET)]


def compactness_at_equal_time(records: list[Record]) -> list[Record]:
    """kodak-models' cells of the compactness suite's models, on the same two photographs at 60 s: the compactness
    claim at equal time. SIREN's and the Fourier MLP's FreSh arms are their own curves ("<model>+fresh"), so the
    best baseline may be either; the hash grid with NSTR's table is left out, as compactness has no such curve."""
    models = set(SUITES["compactness"].models)
    return [r for r in fresh_records(records)
            if r["model"].removesuffix(FRESH) in models and not str(r.get("label", "")).startswith(SAME_TABLE)]


def as_stored(records: list[Record]) -> list[Record]:
    return records


#: Where a claim's two columns come from, by its ``suite``: protocol -> (the suite whose cells measure it, how its
#: records are read). "time": equal wall time on our machine (the "ours" column); "steps": equal optimiser steps,
#: the papers' protocol (the "equal steps" columns), from the suite's equal-steps twin or a suite that is one.
SOURCES: dict[str, dict[str, tuple[str, Callable[[list[Record]], list[Record]]]]] = {
    "table1": {"time": ("table1", fresh_records), "steps": ("compactness", table1_at_equal_steps)},
    "compactness": {"time": ("kodak-models", compactness_at_equal_time), "steps": ("compactness", as_stored)},
    "audio": {"time": ("audio", as_stored), "steps": ("audio-steps", as_stored)},
    "sdf": {"time": ("sdf", as_stored), "steps": ("sdf-steps", as_stored)},
    "nerf": {"time": ("nerf", ablation_records), "steps": ("nerf-steps", ablation_records)},
    "lego": {"time": ("lego", lego_records), "steps": ("lego-steps", lego_records)},
    "ablation": {"time": ("ablation", ablation_records), "steps": ("ablation-steps", ablation_records)},
    "dinr": {"time": ("dinr", ablation_records), "steps": ("dinr-steps", ablation_records)},
}
#: FreSh's claims come from one benchmark script: its arms differ only in an embedding scale, which does not change
#: a step's cost, so its equal-time fits are equal-steps fits too (and the cost cut counts work, not time).
ONE_PROTOCOL = {"fresh": "the same fits: an embedding scale leaves a step's cost unchanged"}


def script_records(standalone: list[dict[str, Any]], benchmark: str) -> list[Record]:
    """The rows of one benchmark script's result as successful records."""
    return [{**row, "status": OK} for result in standalone if result.get("benchmark") == benchmark
            for row in result["rows"]]


def measure(claim: Claim, records: list[Record], protocol: str = "time") -> tuple[float | None, str]:
    """Our counterpart of ``claim`` from the records of one protocol's suite: (value, text); (None, reason) if
    unavailable. ``protocol`` ("time" or "steps") picks the DINR variants compared (their labels differ)."""
    if claim.measure == "pde_gap":  # what the transport term at the paper's weight adds, per signal
        if claim.model not in PDE_PAIRS:
            return None, NOT_MEASURED
        gaps = [a["psnr"] - b["psnr"] for a, b in _pairs(records, *PDE_PAIRS[claim.model])]
        if not gaps:
            return None, NOT_MEASURED
        value = statistics.fmean(gaps)
        return value, f"{value:+.2f} dB from the PDE term ({len(gaps)} paired fits)"
    if claim.measure in ("fresh_gain", "fresh_cost"):
        key = "FreSh gain (dB)" if claim.measure == "fresh_gain" else "cost cut (x)"
        values = [r[key] for r in ok(records) if key in r]
        if not values:
            return None, NOT_MEASURED
        value = statistics.fmean(values)
        unit = "dB" if claim.measure == "fresh_gain" else "x"
        each = ", ".join(f"{r['signal']} {r[key]:+.2f}" if unit == "dB" else f"{r['signal']} {r[key]:.1f}"
                         for r in ok(records))
        return value, (f"{value:+.2f} dB" if unit == "dB" else f"{value:.1f} x") + f" ({each})"
    if claim.measure == "k_sweep":  # the best gain of any K above 16 over K = 16
        means = {k: [r["psnr"] for r in ok(records) if r["model"] == label] for label, k in K_SWEEP}
        means = {k: statistics.fmean(v) for k, v in means.items() if v}
        if 16 not in means or not any(k > 16 for k in means):
            return None, NOT_MEASURED
        text = ", ".join(f"K {k}: {v:.2f} dB" for k, v in means.items())
        return max(v for k, v in means.items() if k > 16) - means[16], text
    if claim.measure in ("snr_gap", "chamfer_reduction"):
        # Shapes: point-to-surface Chamfer (exact distances); the sampled symmetric Chamfer has a floor near
        # 1.5e-3 of the diagonal from sampling alone, which every decent fit reaches.
        key = "snr" if claim.measure == "snr_gap" else "chamfer_p2s"
        pairs = [(a, b) for a, b in _pairs(records, claim.model, claim.baseline) if key in a and key in b]
        if not pairs:
            return None, NOT_MEASURED
        if key == "snr":
            values = [a["snr"] - b["snr"] for a, b in pairs]
            value = statistics.fmean(values)
            return value, f"{value:+.2f} dB ({len(values)} paired fits)"
        values = [100 * (1 - a[key] / b[key]) for a, b in pairs if b[key] > 0]
        value = statistics.fmean(values)
        return value, f"{value:.0f} % lower point-to-surface Chamfer ({len(values)} paired fits; negative = higher)"
    if claim.measure in ("mse_reduction", "noise_mse_reduction"):
        # Per comparison, the mean over its (signal, seed) pairs of the % by which the MSE is lower; the best one.
        comparisons = (DINR_PAIRS if claim.measure == "mse_reduction" else DINR_NOISE_PAIRS)[protocol]
        found = []
        for model, base in comparisons:
            cuts = [100 * (1 - 10 ** ((b["psnr"] - a["psnr"]) / 10)) for a, b in _pairs(records, model, base)]
            if cuts:
                name = f"{model.removesuffix(EQUAL_STEPS)} vs {base.removesuffix(EQUAL_STEPS)}"
                found.append((name, statistics.fmean(cuts), len(cuts)))
        if not found:
            return None, NOT_MEASURED
        best = max(v for _, v, _ in found)
        return best, f"up to {best:.0f} % (" + ", ".join(f"{name} {v:.0f} % ({n} fits)" for name, v, n in found) + ")"
    if claim.measure == "curve_param_ratio":
        return curve_param_ratio(ok(records), claim.model or "nstr")
    if claim.measure == "param_ratio":
        return nerf_param_ratio(ok(records))
    if claim.measure == "speedup":
        return nerf_speedup(ok(records))
    if claim.measure == "psnr":
        mine = [r for r in records if r["model"] == claim.model]
        value, spread = mean_spread(mine, "psnr")
        if value != value:
            return None, NOT_MEASURED
        n = len(ok(mine))
        return value, f"{value:.2f} dB" + (f" ± {spread:.2f}" if spread is not None else "") + f" ({n} fits)"
    if claim.measure == "psnr_gap":
        pairs = _pairs(records, claim.model, claim.baseline)
        if not pairs:
            return None, NOT_MEASURED
        gaps = [a["psnr"] - b["psnr"] for a, b in pairs]
        value = statistics.fmean(gaps)
        tuned = {_pair_key(r): r for r in ok(records) if r["model"] == claim.baseline + FRESH}
        if not tuned:
            return value, f"{value:+.2f} dB ({len(gaps)} paired fits)"
        # The baseline at its default and with FreSh's embedding: the verdict is against the stronger, per pair.
        strongest = [a["psnr"] - max(b["psnr"], tuned[_pair_key(b)]["psnr"]) for a, b in pairs
                     if _pair_key(b) in tuned]
        fresh_gaps = [a["psnr"] - tuned[_pair_key(b)]["psnr"] for a, b in pairs if _pair_key(b) in tuned]
        best = statistics.fmean(strongest)
        return best, (f"{best:+.2f} dB against the stronger of the default and FreSh's embedding "
                      f"({len(strongest)} paired fits; {value:+.2f} against the default, "
                      f"{statistics.fmean(fresh_gaps):+.2f} against FreSh's)")
    if claim.measure == "time_ratio":
        pairs = _pairs(records, claim.model, claim.baseline)
        if not pairs:
            return None, NOT_MEASURED
        ratios = [time_to_reach(a, b["psnr"]) / max(b["train_seconds"], 1e-9) for a, b in pairs]
        value = statistics.median(ratios)
        reached = sum(math.isfinite(r) for r in ratios)
        text = "never reached" if math.isinf(value) else f"{value:.2f} x"
        return value, f"{text} (reached {reached}/{len(ratios)})"
    return None, NOT_MEASURED


def _label_means(records: list[Record]) -> list[Record]:
    """One record per variant label: PSNR and parameters averaged over its seeds."""
    labels: dict[str, list[Record]] = {}
    for r in records:
        labels.setdefault(r["model"], []).append(r)
    return [{"model": label, "psnr": statistics.fmean(r["psnr"] for r in group),
             "params": statistics.fmean(r["params"] for r in group), "seeds": len(group)}
            for label, group in labels.items()]


def psnr_curves(records: list[Record]) -> dict[str, list[tuple[float, float]]]:
    """Per model, (mean parameters, mean PSNR) at each of its budgets (``target_params``), by parameters."""
    cells: dict[tuple[str, Any], list[Record]] = {}
    for r in records:
        cells.setdefault((r["model"], r.get("target_params")), []).append(r)
    curves: dict[str, list[tuple[float, float]]] = {}
    for (model, _), group in cells.items():
        curves.setdefault(model, []).append((statistics.fmean(r["params"] for r in group),
                                             statistics.fmean(r["psnr"] for r in group)))
    return {model: sorted(points) for model, points in curves.items()}


def params_for(curve: list[tuple[float, float]], psnr: float) -> tuple[float, str]:
    """Parameters at which a PSNR-parameter ``curve`` first reaches ``psnr``, linear in log parameters between
    its points; ("<" smallest) below its first point, (">" largest) if it never gets there: (value, bound)."""
    if psnr <= curve[0][1]:
        return curve[0][0], "<="
    for (p0, q0), (p1, q1) in itertools.pairwise(curve):
        if q0 < psnr <= q1:
            t = (psnr - q0) / (q1 - q0)
            return math.exp(math.log(p0) + t * (math.log(p1) - math.log(p0))), ""
    return curve[-1][0], ">"


def curve_param_ratio(records: list[Record], model: str) -> tuple[float | None, str]:
    """Median over ``model``'s budgets of (parameters the best other model needs for its PSNR) / its own."""
    curves = psnr_curves(records)
    mine, others = curves.get(model), {m: c for m, c in curves.items() if m != model}
    if not mine or not others:
        return None, NOT_MEASURED
    ratios, parts = [], []
    for params, psnr in mine:
        needs = {m: params_for(c, psnr) for m, c in others.items()}
        best = min(needs, key=lambda m: needs[m][0])
        value, bound = needs[best]
        ratios.append(value / params)
        parts.append(f"{params / 1000:.0f}k {psnr:.2f} dB: {bound}{value / params:.2f} x ({best})")
    value = statistics.median(ratios)
    return value, f"{value:.2f} x, median over budgets (" + "; ".join(parts) + ")"


def nerf_param_ratio(records: list[Record]) -> tuple[float | None, str]:
    """Parameters the smallest baseline needs to reach a test PSNR over those the smallest NSTR variant needs,
    at the best baseline's PSNR less ``EQUAL_QUALITY_DB`` (0 when no NSTR variant gets there); PSNRs are means
    over each variant's seeds."""
    means = _label_means(records)
    baselines = [r for r in means if r["model"] in NERF_BASELINES]
    mine = [r for r in means if r["model"].startswith("nstr")]
    if not baselines or not mine:
        return None, NOT_MEASURED
    target = max(r["psnr"] for r in baselines) - EQUAL_QUALITY_DB
    theirs = min((r for r in baselines if r["psnr"] >= target), key=lambda r: r["params"])
    matching = [r for r in mine if r["psnr"] >= target]
    seeds = f"; mean of {min(r['seeds'] for r in means)}+ seeds each"
    if not matching:
        top = max(mine, key=lambda r: r["psnr"])
        return 0.0, (f"no NSTR variant reaches {target:.2f} dB ({theirs['model']}: {theirs['psnr']:.2f} dB with "
                     f"{theirs['params'] / 1e6:.2f}M); best NSTR {top['model']} {top['psnr']:.2f} dB "
                     f"({top['params'] / 1e6:.2f}M){seeds}")
    smallest = min(matching, key=lambda r: r["params"])
    ratio = theirs["params"] / smallest["params"]
    return ratio, (f"{ratio:.2f} x at {target:.2f} dB: {smallest['model']} needs {smallest['params'] / 1e6:.2f}M "
                   f"({smallest['psnr']:.2f} dB), {theirs['model']} {theirs['params'] / 1e6:.2f}M "
                   f"({theirs['psnr']:.2f} dB){seeds}")


def nerf_speedup(records: list[Record]) -> tuple[float | None, str]:
    """Training time of each default-size baseline to reach a PSNR on the val rays over NSTR's time to reach
    it (the lower of the two best values in their histories), paired by seed and averaged; the smallest ratio
    over baselines (NSTR must beat each)."""
    found = []
    for name in ("hashgrid", "triplane"):
        ratios, targets = [], []
        for nstr, other in _pairs(records, "nstr", name):
            target = min(_final_val(nstr), _final_val(other))
            theirs, ours = (max(time_to_reach(r, target), 1e-9) for r in (other, nstr))
            ratios.append(theirs / ours)
            targets.append(target)
        if ratios:
            found.append((name, statistics.fmean(targets), statistics.fmean(ratios), len(ratios)))
    if not found:
        return None, NOT_MEASURED
    value = min(v for _, _, v, _ in found)
    return value, "; ".join(f"{v:.2f} x vs {name} (time to {t:.2f} dB on val rays, {n} paired fits)"
                            for name, t, v, n in found)


def _final_val(record: Record) -> float:
    history = record.get("history") or [{"psnr": -math.inf}]
    return max(h.get("psnr", -math.inf) for h in history)


def verdict(claim: Claim, value: float | None) -> str:
    """The verdict on ``claim`` given our value (None: not measured)."""
    if value is not None and claim.measure == "k_sweep":  # qualitative: no gain beyond K = 16
        return "holds (no gain beyond 16)" if value <= 0.1 else "does not hold"
    if value is not None and claim.question:
        return "— (no paper value; ours is the answer)"
    if value is None or claim.low is None:
        return NOT_MEASURED
    if not claim.comparable:
        return "— (other data; see the gaps)"
    neutral = 1.0 if claim.unit == "x" else 0.0
    if claim.higher_is_better:
        if value >= claim.low:
            return "holds"
        return "partly (right direction, smaller)" if value > neutral else "does not hold"
    high = claim.high if claim.high is not None else claim.low
    if value <= high:
        return "holds"
    return "partly (right direction, smaller)" if value < neutral else "does not hold"


def _column(claim: Claim, protocol: str, suites: dict[str, list[Record]], standalone: list[dict[str, Any]]
            ) -> tuple[str, str, str | None]:
    """(our value as text, verdict, the suite measuring it) of ``claim`` under ``protocol``."""
    if claim.suite in ONE_PROTOCOL:
        records = script_records(standalone, "fresh_bench")
        value, text = measure(claim, records) if records else (None, NOT_MEASURED)
        if protocol == "steps" and value is not None:
            text = f"{text}; {ONE_PROTOCOL[claim.suite]}"
        return text, verdict(claim, value), None
    name, read = SOURCES[claim.suite][protocol]
    records = read(suites.get(name, []))
    value, text = measure(claim, records, protocol) if records else (None, NOT_MEASURED)
    if value is None and text == NOT_MEASURED and len(hosts := machine_counts(filter(timed, records))) > 1:
        text = (f"no comparable pair: the suite's cells ran on {len(hosts)} machines (BENCHMARKS.md marks "
                "it); re-run it whole on one")
    return text, verdict(claim, value), name


def ledger_rows(suites: dict[str, list[Record]], standalone: list[dict[str, Any]] | None = None
                ) -> list[dict[str, Any]]:
    """One row per claim: paper, claim, paper value, ours at equal time and at equal steps (each with a verdict),
    and the commands that measure them.

    ``standalone``: results of the benchmark scripts (benchmarks/*.py), for claims no suite measures.
    """
    rows = []
    for claim in CLAIMS:
        ours, judged, timed_suite = _column(claim, "time", suites, standalone or [])
        steps, steps_judged, steps_suite = _column(claim, "steps", suites, standalone or [])
        commands = [f"`{COMMANDS[claim.suite]}`"] if claim.suite in COMMANDS else [f"`nstr bench {timed_suite}`"]
        if steps_suite is not None:
            commands.append(f"equal steps: `nstr bench {steps_suite}`")
        rows.append({"paper": claim.paper, "where": claim.where, "claim": claim.claim,
                     "paper value": paper_value(claim), "ours": ours, "verdict": judged,
                     "ours, equal steps": steps, "verdict, equal steps": steps_judged, "command": "; ".join(commands)})
    return rows
