"""Choosing a branch model's int8 recipe on validation: the most int8 recipe within the budget."""

import pandas as pd
import pytest

from voxlens.core.errors import ModelError
from voxlens.models.int8_recipe import choose
from voxlens.sentiment.branch_runtime import INT8_RECIPES, kept_fp32


def test_choose_takes_the_first_recipe_within_mean_and_worst_budgets():
    costs = pd.DataFrame({"tweets": [0.8, -0.2, 0.5, -0.3], "reviews": [0.7, 1.1, 0.4, 0.0]},
                         index=list(INT8_RECIPES))
    assert choose(costs, 0.5) == "ffn"   # "all": over on average; "last-branch-layer": over in its worst domain
    assert choose(costs, 0.3) == "ffn+last-branch-layer"
    assert choose(costs.iloc[:2], 0.3) is None


def test_an_unknown_recipe_is_a_clear_error():
    with pytest.raises(ModelError, match="int8_recipe='fp16'"):
        kept_fp32(None, "fp16")
