"""The notebooks' teaching text stays right: each fact corrected once is pinned here.

Each test reads the instructor's notebook and checks one statement against its
source (the lecture's slide, the torch/torchvision source, the paper), or
checks a number the text relies on by measuring it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from tests.notebooks import ROOT, cells, nbgrader_meta, notebook_ids, solution_path


def _cell(notebook: str, cell_id: str) -> str:
    for cell in cells(solution_path(notebook)):
        if cell["id"] == cell_id:
            return cell["source"]
    raise KeyError(f"{notebook}: no cell {cell_id}")


def _index(notebook: str, predicate) -> int:
    return next(i for i, cell in enumerate(cells(solution_path(notebook))) if predicate(cell))


# --------------------------------------------------------------------------- 04_regularization

#: the five sub-policies of the lecture's AutoAugment slide (operation, probability, magnitude)
SLIDE_SUBPOLICIES = (
    ("ShearX, 0.9, 7", "Invert, 0.2, 3"), ("ShearY, 0.7, 6", "Solarize, 0.4, 8"),
    ("ShearX, 0.9, 4", "AutoContrast, 0.8, 3"), ("Invert, 0.9, 3", "Equalize, 0.6, 3"),
    ("ShearY, 0.8, 5", "AutoContrast, 0.7, 3"),
)


def test_autoaugment_pairs_are_attributed_to_the_papers_svhn_policy() -> None:
    """The slide's pairs illustrate an SVHN policy; torchvision's ImageNet policy has one shear
    (ShearX, 0.6, 5), so they cannot be "from the ImageNet policy"."""
    text = _cell("04_regularization", "1daac973")
    assert "SVHN" in text and "from the ImageNet policy" not in text
    assert "single shear (ShearX, 0.6, 5)" in text
    for first, second in SLIDE_SUBPOLICIES:
        assert re.search(rf"\| {re.escape(first)} \| {re.escape(second)} \|", text), (first, second)
    assert "Invert, AutoContrast and Equalize have no\nmagnitude" in text


def test_stochastic_depth_contract_has_both_modes_with_the_papers_default() -> None:
    source = _cell("04_regularization", "270fc14a")
    assert 'rng: np.random.Generator, mode: str = "batch") -> np.ndarray:' in source
    text = _cell("04_regularization", "515903e8")
    assert '`"batch"` (the paper\'s, default)' in text and "`mode=\"row\"`" in text
    assert "rescales during training" in text and "inverted, like\ninverted dropout" in text


def test_grayscale_weights_are_attributed_to_pil_and_torchvision() -> None:
    """0.299/0.587/0.114 are PIL's convert("L") (ITU-R 601-2); torchvision's tensor
    rgb_to_grayscale uses 0.2989 for R."""
    text = _cell("04_regularization", "2d214d90")
    assert "ITU-R 601-2 luma weights of PIL's" in text and "0.2989" in text
    assert "as `rgb_to_grayscale`)" not in text


def test_ensembles_quote_is_translated_as_considerable() -> None:
    text = _cell("04_regularization", "0409acf6")
    assert "considerable improvement (可以带来可观的性能提升)" in text and "modest" not in text


def test_penalties_text_does_not_hand_out_the_gradients() -> None:
    text = _cell("04_regularization", "28a2e597")
    assert "gradient of $\\lambda R$" not in text and "\\mathrm{sign}(W)" not in text
    assert "2\\lambda W" not in text and "weight_decay = 2λ" not in text
    assert "λ·sign(W)" not in _cell("04_regularization", "51419957")


def test_batch_norm_states_its_main_job_and_walks_the_graph() -> None:
    assert "stable, faster training" in _cell("04_regularization", "221d20bc").splitlines()[0]
    order = [nbgrader_meta(c).get("grade_id") for c in cells(solution_path("04_regularization"))]
    walk = _index("04_regularization", lambda c: "computational graph · 计算图" in c["source"])
    assert order.index("test_batchnorm_forward") < walk < order.index("batchnorm_backward")
    assert order.index("test_batchnorm_backward") < order.index("batchnorm_backward_alt")
    timing = cells(solution_path("04_regularization"))[order.index("test_batchnorm_backward_alt") + 1]
    assert "timeit" in timing["source"] and "batchnorm_backward_alt" in timing["source"]


# --------------------------------------------------------------------------- 03_initialization

def test_relative_standard_error_of_a_std_is_computed_not_written() -> None:
    assert "0.07 %" not in _cell("03_initialization", "9d36e3f4")
    assert "100 / math.sqrt(2 * w.numel())" in _cell("03_initialization", "63db3e33")
    assert f"{100 / math.sqrt(2 * 4096 * 1024):.3f}" == "0.035"


def test_one_over_root_2n_is_the_relative_standard_error_of_a_std() -> None:
    """Measured: 4000 sample stds of n = 500 normals spread by ≈ 1/√(2n) = 0.0316 (the SE of
    that spread is ≈ 0.0316/√(2·4000) = 3.5e-4; the band is 5 of them)."""
    n, repeats = 500, 4000
    stds = np.random.default_rng(7).standard_normal((repeats, n)).std(axis=1)
    expected = 1 / math.sqrt(2 * n)
    assert abs(stds.std() - expected) <= 5 * expected / math.sqrt(2 * repeats)


# --------------------------------------------------------------------------- 01_activations

def test_dead_relu_question_and_model_answer_agree_with_the_lecture() -> None:
    assert "activation\nfunctions from the lecture" in _cell("01_activations", "d5efff48")
    answer = _cell("01_activations", "5a72188d")
    model, grading = answer.split("*Grading.*")
    assert "smaller learning rate" not in model
    assert "is not an answer to this question" in grading


def test_gradient_checking_comes_before_the_first_backward_pass() -> None:
    grade_ids = [nbgrader_meta(c).get("grade_id") for c in cells(solution_path("01_activations"))]
    intro = _index("01_activations", lambda c: c["id"] == "b7508f85")
    assert "check_gradient" in cells(solution_path("01_activations"))[intro]["source"]
    assert intro < grade_ids.index("sigmoid_backward")
    after_test = cells(solution_path("01_activations"))[grade_ids.index("test_sigmoid_backward") + 1]
    assert "check_gradient(sigmoid_forward, sigmoid_backward" in after_test["source"]


def test_gelu_tanh_derivative_has_a_hint() -> None:
    assert "**Hint for the derivative of the tanh form**" in _cell("01_activations", "4f26c404")


def test_question_1_numbers_are_not_printed_before_it() -> None:
    notebook = cells(solution_path("01_activations"))
    question = _index("01_activations", lambda c: c["id"] == "7c07170f")
    table = _index("01_activations", lambda c: c["id"] == "93a05e55")
    between = "".join(c["source"] for c in notebook[table + 1:question] if c["cell_type"] == "markdown")
    assert "0.25" not in between and "4.5" not in between and "10^{-5}" not in between


@pytest.mark.parametrize("cell_id,explanation", [
    ("83af85ac", "each pixel's mean over the 500 images is subtracted"),
    ("83af85ac", "chosen so that a ReLU layer keeps the scale of its input"),
    ("51f6f1fe", "ReLU zeroes about half of its inputs"),
    ("3228eb7d", "subtract each input's mean over\nthe training set"),
])
def test_forward_references_come_with_an_explanation(cell_id: str, explanation: str) -> None:
    assert explanation in _cell("01_activations", cell_id)


# --------------------------------------------------------------------------- every notebook

def test_inverted_dropout_is_never_rendered_as_backward() -> None:
    """反向 reads as "backward" next to dropout_backward; inverted is 倒置 (glossary)."""
    offenders = []
    sources = [*Path(ROOT, "lib", "nnlab").rglob("*.py")]
    sources += [solution_path(n) for n in notebook_ids()]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r".{0,20}反向(?!传播).{0,20}", text)]
    assert not offenders, offenders


@pytest.mark.parametrize("notebook", notebook_ids())
def test_introduction_names_two_exercises_that_need_real_work(notebook: str) -> None:
    intro = cells(solution_path(notebook))[0]["source"]
    assert "**Exercises that need real work**" in intro
    rows = re.findall(r"^\| `(\w+)` \| .+ \| (\d+) min \|$", intro, flags=re.MULTILINE)
    graded = {nbgrader_meta(c).get("grade_id") for c in cells(solution_path(notebook))}
    assert len(rows) >= 2, rows
    for name, _minutes in rows:
        assert name in graded and f"test_{name}" in graded, name


# --------------------------------------------------------------------------- 01 and 05: numbers and claims

def test_the_overfitting_step_states_the_parameter_count_of_its_network() -> None:
    from nnlab.training import make_mlp

    model = make_mlp(256, [100], 6, seed=0)  # the notebook's 256 → 100 → 6 network
    count = sum(p.numel() for p in model.parameters())
    text = _cell("05_tuning", "af876bc6")
    assert f"{count // 1000} {count % 1000:03d} parameters" in text


def test_relus_speed_up_is_attributed_to_alexnets_tanh_comparison() -> None:
    text = _cell("01_activations", "2b3c6366")
    # Krizhevsky et al. 2012, Figure 1: 25 % training error on CIFAR-10 six times faster than tanh
    assert "six times faster than the same network with tanh" in text
    assert "6× in the AlexNet paper" not in text


def test_not_zero_centred_is_no_reason_to_prefer_relu_over_sigmoid() -> None:
    answer = _cell("01_activations", "0f4d6b1a")
    assert "Also accepted as the second reason: sigmoid outputs are not zero-centred" not in answer
    assert "ReLU's outputs are not zero-centred either" in answer


def test_the_alexnet_224_remark_shows_the_whole_expression() -> None:
    text = _cell("00_cnn_shapes", "1e23da73")
    assert "$(224 - 11)/4 + 1 = 54.25$" in text and (224 - 11) / 4 + 1 == 54.25


def test_the_sigmoid_answer_bounds_the_local_derivative_not_the_gradient() -> None:
    """σ'(z) ≤ 0.25, but the backpropagated gradient is also multiplied by Wᵀ and can grow."""
    text = _cell("01_activations", "0f4d6b1a")
    assert "shrinks at least by 0.25" not in text
    assert "local derivative of at most 0.25 (besides the weights)" in text


def test_the_cancellation_demo_has_the_spread_the_text_states_and_fails_as_it_says() -> None:
    """The prose promises values around 1e5 with spread 0.01 and negative naive variances."""
    from nnlab.data import load_shapes

    source, text = _cell("02_preprocessing", "81bb7189"), _cell("02_preprocessing", "4e502960")
    assert "far = X64[:200] * 0.04 + 1e5" in source and "np.sqrt" not in source
    assert "spread $0.01$" in text and "variances even come out negative" in text
    X64 = load_shapes(num_train=2000, num_val=500, num_test=500, seed=0).X_train.astype(np.float64)
    far = X64[:200] * 0.04 + 1e5
    spread = far.std(axis=(0, 1, 2))
    assert np.all((spread > 0.009) & (spread < 0.011)), spread
    naive = (far**2).mean(axis=(0, 1, 2)) - far.mean(axis=(0, 1, 2)) ** 2
    assert np.all(naive < 0), naive


def test_torchs_default_linear_init_is_described_by_its_std() -> None:
    """kaiming_uniform_(a=√5): gain √(2/6), bound √3·gain/√fan_in = 1/√fan_in, std 1/√(3 fan_in)."""
    import torch

    text = _cell("03_initialization", "a8f369d2")
    assert r"std $1/\sqrt{3\,\text{fan\_in}}$" in text and "a third of Xavier's variance" in text
    torch.manual_seed(0)
    fan_in, fan_out = 400, 300
    weight = torch.nn.Linear(fan_in, fan_out).weight.detach().double()
    expected = 1 / math.sqrt(3 * fan_in)
    # the relative standard error of a std estimate from n samples is about 1/√(2n)
    assert abs(weight.std().item() / expected - 1) < 5 / math.sqrt(2 * weight.numel())
    assert weight.abs().max().item() <= 1 / math.sqrt(fan_in)


def test_the_initialization_table_has_no_dash_rows() -> None:
    assert '"—"' not in _cell("03_initialization", "56af90d1")


def test_regularization_advice_is_not_attributed_to_the_lecture() -> None:
    text = _cell("04_regularization", "e297022d")
    assert "practical advice of the lecture" not in text and "give no such advice" in text


def test_the_initial_loss_text_matches_the_measured_scaling() -> None:
    """05 says: ×10 gives about 1.6 × log C, ×100 more than ten times log C."""
    import torch
    from nnlab.training import load_features, make_mlp

    text = _cell("05_tuning", "6f0f1577")
    assert "about 1.6 × log C" in text and "more than ten times the expected value" in text
    data = load_features(num_train=2000, num_val=500, seed=0)
    expected = math.log(data.num_classes)
    ratios = {}
    for scale in (10.0, 100.0):
        model = make_mlp(data.input_dim, [100], data.num_classes, seed=0)
        with torch.no_grad():
            model[-1].weight.mul_(scale)
            loss = torch.nn.functional.cross_entropy(model(data.X_train), data.y_train).item()
        ratios[scale] = loss / expected
    assert 1.5 <= ratios[10.0] <= 1.7 and ratios[100.0] > 10, ratios
