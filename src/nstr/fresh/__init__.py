"""FreSh (Kania et al.): choose an embedding hyperparameter by comparing the spectrum of untrained models'
outputs with the target's, without training.

``spectra`` (the official spectrum and distance), ``forwards`` (fast batched untrained forwards),
``select`` (ranking candidates), ``plots`` (the selection picture).
"""

from nstr.fresh.forwards import FAST_FORWARDS, evaluate, fast_forward
from nstr.fresh.plots import plot_selection
from nstr.fresh.select import Candidate, Selection, check_param, select, select_many
from nstr.fresh.spectra import DEFAULT_N, MAX_SIDE, PRECISIONS, spectral_distance, spectrum

__all__ = ["DEFAULT_N", "MAX_SIDE", "PRECISIONS", "FAST_FORWARDS", "Candidate", "Selection", "check_param",
           "evaluate", "fast_forward", "plot_selection", "select", "select_many", "spectral_distance",
           "spectrum"]
