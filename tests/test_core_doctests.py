"""The examples in the core modules' docstrings run and are right."""

import doctest

import pytest

from cnnbp import activations, conv, gradcheck, layers, naive, pool, shapes
from cnnbp.exercises import modern_training


@pytest.mark.parametrize("module", [shapes, naive, conv, pool, activations,
                                    gradcheck, layers, modern_training])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0
