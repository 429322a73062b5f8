"""The quantitative claims of the papers in ../shared/papers/, as data for the claims ledger.

Each ``Claim`` says which suite measures it and how (``measure``); the report computes our counterpart from
that suite's results, or writes "not yet measured" when the suite has none (or does not exist yet).

Measures the report knows (``nstr.bench.ledger``):
- ``psnr``: mean PSNR of ``model`` over the suite's signals and seeds.
- ``psnr_gap``: mean PSNR of ``model`` minus ``baseline``, paired by signal and seed.
- ``time_ratio``: time for ``model`` to reach ``baseline``'s final PSNR, over ``baseline``'s training time
  (the paper's "train time" relative to the Fourier MLP); median over signal/seed pairs.
- ``snr_gap``: mean audio SNR of ``model`` minus ``baseline``, paired.
- ``chamfer_reduction``: mean % by which ``model``'s point-to-surface Chamfer is below ``baseline``'s, paired.
- ``curve_param_ratio``: from PSNR-parameter curves (mean PSNR per model and budget; compactness at equal steps,
  kodak-models at equal time):
  per NSTR budget, the parameters each other model needs for NSTR's PSNR (interpolated in log parameters), over
  NSTR's, for the baseline needing the fewest; the median over NSTR's budgets.
- ``param_ratio``, ``speedup``: from the nerf or lego suite's variants (parameters of the best baseline over the
  smallest NSTR within 0.5 dB of it; time to a common val PSNR, baseline over NSTR).
- ``pde_gap``, ``k_sweep``: from the ablation suite's variants; ``mse_reduction``, ``noise_mse_reduction``:
  from the dinr suite's variants (dynamical against static; kinetic term on against off at 30 % noise).
``suite`` is a key of ``nstr.bench.ledger.SOURCES``, which names the suites measuring the claim at equal time and
at equal steps.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One number a paper reports, and how we measure its counterpart."""

    paper: str  #: "NSTR", "FreSh", "DINR" or "GaussianImage"
    where: str  #: table or section
    claim: str  #: what is claimed, briefly
    low: float | None  #: the paper's value (or the low end of its range); None: qualitative, or no value at all
    high: float | None  #: high end of a range (equal to low for a single value)
    unit: str  #: "dB", "x", "%"
    suite: str  #: which suites measure it: a key of ``nstr.bench.ledger.SOURCES`` (or "fresh", a script)
    measure: str  #: how (see the module docstring)
    model: str | None = None
    baseline: str | None = None
    higher_is_better: bool = True
    comparable: bool = True  #: False: absolute numbers on other data, shown but given no verdict
    question: bool = False  #: no paper claims it: a comparison reviewers ask for, measured and given no verdict


def _nstr(where, claim, low, high, unit, suite, measure, model=None, baseline=None, **kw) -> Claim:
    return Claim("NSTR", where, claim, low, high, unit, suite, measure, model, baseline, **kw)


CLAIMS: tuple[Claim, ...] = (
    # Table 1: image regression, 50 CelebA-HQ images (ours: development photographs, equal wall time).
    _nstr("Table 1", "Fourier MLP, 1.2M params: PSNR", 30.1, 30.1, "dB", "table1", "psnr", "ffn", comparable=False),
    _nstr("Table 1", "SIREN, 1.2M params: PSNR", 31.4, 31.4, "dB", "table1", "psnr", "siren", comparable=False),
    _nstr("Table 1", "Instant-NGP, 0.5M params: PSNR", 33.5, 33.5, "dB", "table1", "psnr", "hashgrid",
          comparable=False),
    _nstr("Table 1", "NSTR, 0.3M params: PSNR", 35.7, 35.7, "dB", "table1", "psnr", "nstr", comparable=False),
    _nstr("Table 1", "NSTR 0.3M over SIREN 1.2M", 4.3, 4.3, "dB", "table1", "psnr_gap", "nstr", "siren"),
    _nstr("Table 1", "NSTR 0.3M over Fourier MLP 1.2M", 5.6, 5.6, "dB", "table1", "psnr_gap", "nstr", "ffn"),
    _nstr("Table 1", "NSTR 0.3M over Instant-NGP 0.5M", 2.2, 2.2, "dB", "table1", "psnr_gap", "nstr", "hashgrid"),
    _nstr("Table 1", "SIREN train time relative to Fourier MLP", 1.1, 1.1, "x", "table1", "time_ratio", "siren",
          "ffn", higher_is_better=False),
    _nstr("Table 1", "Instant-NGP train time relative to Fourier MLP", 0.3, 0.3, "x", "table1", "time_ratio",
          "hashgrid", "ffn", higher_is_better=False),
    _nstr("Table 1", "NSTR train time relative to Fourier MLP", 0.6, 0.6, "x", "table1", "time_ratio", "nstr",
          "ffn", higher_is_better=False),
    # Other tasks and ablations.
    _nstr("Sec. 5.4", "audio: SNR over SIREN", 3.5, 3.5, "dB", "audio", "snr_gap", "nstr", "siren"),
    _nstr("Sec. 5.5", "SDF: Chamfer distance lower than SIREN", 28.0, 42.0, "%", "sdf", "chamfer_reduction",
          "nstr", "siren"),
    _nstr("Sec. 5.6", "NeRF: fewer parameters at equal quality", 2.0, 4.0, "x", "nerf", "param_ratio", "nstr"),
    # The abstract's "better accuracy-parameter trade-offs" on images, read as Sec. 5.6's 2-4x: the parameters
    # the best baseline needs for NSTR's PSNR, over NSTR's (two Kodak photographs; median over NSTR's budgets).
    _nstr("Abstract; 2-4x: Sec. 5.6", "images: fewer parameters than the best baseline at equal quality", 2.0,
          4.0, "x", "compactness", "curve_param_ratio", "nstr"),
    _nstr("Sec. 5.6", "NeRF: faster training", 1.5, 1.5, "x", "nerf", "speedup", "nstr"),
    # The same two on public data: nerf_synthetic's lego at its 200 x 200 size (``nstr bench lego``).
    _nstr("Sec. 5.6", "NeRF on lego: fewer parameters at equal quality", 2.0, 4.0, "x", "lego", "param_ratio",
          "nstr"),
    _nstr("Sec. 5.6", "NeRF on lego: faster training", 1.5, 1.5, "x", "lego", "speedup", "nstr"),
    _nstr("Sec. 5.7", "removing the PDE loss costs PSNR", 1.0, 2.0, "dB", "ablation", "pde_gap", "nstr"),
    _nstr("Sec. 5.7", "removing the PDE loss costs PSNR (the paper's model)", 1.0, 2.0, "dB", "ablation",
          "pde_gap", "nstr-paper"),
    _nstr("Sec. 5.7", "diminishing returns beyond K = 16", None, None, "", "ablation", "k_sweep", "nstr"),
    # GaussianImage (ECCV 2024), its Kodak figure at each method's largest setting (GPU, tens of thousands of
    # steps): 44.1 dB against Instant-NGP's 43.4. Ours: table1, 2-D Gaussians at 0.3M against the hash grid at
    # 0.5M, equal CPU time. And the question a reviewer of NSTR asks, which no paper answers with a number.
    Claim("GaussianImage", "Kodak figure", "GaussianImage: PSNR", 44.1, 44.1, "dB", "table1", "psnr", "gaussians",
          comparable=False),
    Claim("GaussianImage", "Kodak figure", "GaussianImage over Instant-NGP", 0.7, 0.7, "dB", "table1", "psnr_gap",
          "gaussians", "hashgrid"),
    _nstr("—", "NSTR 0.3M against GaussianImage 0.3M", None, None, "dB", "table1", "psnr_gap", "nstr", "gaussians",
          question=True),
    # FreSh (summary of arXiv 2410.05050; cost from the official code's 600 vs 31 GPU-hours for SIREN).
    Claim("FreSh", "Key results", "PSNR over default embeddings (up to)", 1.5, 1.5, "dB", "fresh", "fresh_gain"),
    Claim("FreSh", "Key results", "grid-search cost cut", 20.0, 20.0, "x", "fresh", "fresh_cost"),
    # DINR (summary).
    Claim("DINR", "Key results", "MSE lower than static INRs (up to)", 97.0, 97.0, "%", "dinr", "mse_reduction"),
    Claim("DINR", "Fig. 6", "kinetic-energy term: MSE lower at 30% noise (up to)", 55.0, 55.0, "%", "dinr",
          "noise_mse_reduction"),
)


def paper_value(claim: Claim) -> str:
    """The paper's number as text: '35.7 dB', '28-42 %', 'qualitative', or '—' for a question."""
    if claim.question:
        return "—"
    if claim.low is None:
        return "qualitative"
    number = f"{claim.low:g}" if claim.high in (None, claim.low) else f"{claim.low:g}-{claim.high:g}"
    sign = "+" if claim.unit == "dB" and claim.measure != "psnr" and claim.high == claim.low else ""
    return f"{sign}{number} {claim.unit}".strip()
