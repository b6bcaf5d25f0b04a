"""Choosing a branch model's int8 recipe on validation: the most int8 recipe within the budget."""

import pandas as pd
import pytest

from voxlens.core.errors import ModelError
from voxlens.models.int8_recipe import choose
from voxlens.sentiment.branch_runtime import INT8_RECIPES, kept_fp32


def test_choose_takes_the_first_recipe_within_the_budget_on_every_domain():
    costs = pd.DataFrame({"tweets": [0.8, -0.2, 0.5, -0.3], "reviews": [0.1, 1.1, 0.4, 0.0]},
                         index=["all", "last-branch-layer", "ffn", "ffn+last-branch-layer"])
    assert choose(costs, 0.5) == "ffn"   # "all" and "last-branch-layer": each over in one domain
    assert choose(costs, 0.3) == "ffn+last-branch-layer"
    assert choose(costs.iloc[:2], 0.3) is None


def test_a_margin_is_chosen_only_when_every_larger_margin_of_its_recipe_is_within_the_budget_too():
    costs = pd.DataFrame({"tweets": [0.9, 0.2, 0.1, 0.6, 0.6, 0.3, 0.2, 0.0],
                          "reviews": [0.7, 0.3, 0.8, 0.2, 0.2, 0.4, 0.1, 0.3]},
                         index=["all", "all, 0.1", "all, 0.2", "all, 0.3",
                                "smoothed", "smoothed, 0.1", "smoothed, 0.2", "ffn"])
    recipes = {label: label.split(",")[0] for label in costs.index}
    assert choose(costs, 0.5) == "all, 0.1"                  # rows alone: the first within the budget
    assert choose(costs, 0.5, recipes) == "smoothed, 0.1"    # "all, 0.1" passed, "all, 0.2" did not
    assert choose(costs, 0.35, recipes) == "smoothed, 0.2"
    assert choose(costs, 0.05, recipes) is None


def test_an_unknown_recipe_is_a_clear_error():
    with pytest.raises(ModelError, match="int8_recipe='fp16'"):
        kept_fp32(None, "fp16")


def test_candidates_try_every_weight_int8_first_then_the_recipes_that_keep_fp32_weights():
    from voxlens.models.int8_recipe import FP32_MARGINS, candidates

    labels = [label for label, _, _ in candidates()]
    assert labels[0] == "smoothed" and labels[len(FP32_MARGINS) + 1] == "all"
    assert labels[-3:] == ["last-branch-layer", "ffn", "ffn+last-branch-layer"]
    assert {recipe for _, recipe, _ in candidates()} == set(INT8_RECIPES)
    assert [m for _, r, m in candidates() if r == "smoothed"] == [0.0, *FP32_MARGINS]
