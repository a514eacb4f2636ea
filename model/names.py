"""The names a user can choose: presets, layer presets, activations, costs, optimisers and
learning-rate schedules.

This module is the standard library only, and imports nothing else from model/: the command line
reads it to parse its arguments before NumPy loads (``digitnet serve`` sets BLAS's thread count
first), and ``config`` reads it to check a ``TrainConfig``'s names without importing the optimisers.
The registries (``config.PRESETS``, ``functions.ACTIVATIONS`` and ``COSTS``, ``optim.OPTIMIZERS`` and
``SCHEDULES``) write each name as the key beside what it names, where a learner reads it;
tests/model/test_names.py checks that their keys are these names, in this order. The layer presets
are plain strings, so they live here whole.
"""

from __future__ import annotations

# config.PRESETS: whole training runs, and the one a run starts from when none is named
PRESETS = ("default", "seed", "conv")
DEFAULT_PRESET = "seed"

# functions.ACTIVATIONS: those a hidden layer may use; the output's softmax is no choice of the user's
HIDDEN_ACTIVATIONS = ("sigmoid", "relu", "leaky_relu", "tanh")
# functions.COSTS
COSTS = ("cross_entropy", "mse")
# optim.OPTIMIZERS and optim.SCHEDULES
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "step", "cosine")

# How a layer is written (architecture.py reads these names), and a few whole networks by name
LAYER_FORMS = "conv<k>x<k>x<channels> (optionally -valid), pool or dense<units>"
LAYER_PRESETS: dict[str, tuple[str, ...]] = {
    "conv-small": ("conv5x5x16", "pool", "conv5x5x32", "pool", "dense128", "dense10"),
    "conv-large": ("conv5x5x32", "pool", "conv5x5x64", "pool", "dense256", "dense10"),
}
