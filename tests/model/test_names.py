"""model/names.py spells the names a user can choose; every registry is keyed by exactly those."""

import subprocess
import sys
from pathlib import Path

from model import architecture, config, functions, names, optim
from model.architecture import Architecture

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(statement: str) -> list[str]:
    """The modules of model/ and NumPy that ``statement`` loads in a fresh interpreter."""
    probe = (f"import sys; {statement}; print(' '.join(sorted(m for m in sys.modules "
             "if m.split('.')[0] in ('model', 'numpy'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                            timeout=60, check=True)
    return result.stdout.split()


def test_each_registry_is_keyed_by_the_names_in_their_order() -> None:
    """In order too: the CLI's --help, the API's schema and the refusals list them in this order."""
    assert list(config.PRESETS) == list(names.PRESETS) and names.DEFAULT_PRESET in names.PRESETS
    assert list(functions.ACTIVATIONS) == [*names.HIDDEN_ACTIVATIONS, "softmax"]
    assert list(functions.COSTS) == list(names.COSTS)
    assert list(optim.OPTIMIZERS) == list(names.OPTIMIZERS)
    assert list(optim.SCHEDULES) == list(names.SCHEDULES)


def test_the_modules_read_the_names_rather_than_spell_them() -> None:
    assert functions.HIDDEN_ACTIVATIONS is names.HIDDEN_ACTIVATIONS
    assert config.DEFAULT_PRESET is names.DEFAULT_PRESET
    assert architecture.LAYER_PRESETS is names.LAYER_PRESETS
    assert architecture.LAYER_FORMS is names.LAYER_FORMS


def test_each_layer_preset_is_a_network_with_ten_outputs() -> None:
    for layers in names.LAYER_PRESETS.values():
        assert Architecture.from_layers(layers).sizes[-1] == 10


def test_the_names_load_without_numpy_or_the_rest_of_model() -> None:
    assert _loaded_after("import model.names") == ["model", "model.names"]


def test_config_checks_names_without_loading_the_optimisers() -> None:
    """config reads the names, optim reads config: no circle between them."""
    loaded = _loaded_after("import model.config")
    assert "model.config" in loaded and "model.optim" not in loaded
