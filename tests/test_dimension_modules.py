"""The doctests of the modules split out of kerastune_kit.dimensions.

``test_space.py`` runs the doctests of ``space`` and ``dimensions``; doctest
only finds the objects a module defines, so the base class and the discrete
kinds, now defined in ``_dimension_base`` and ``choices``, are run here (with
the names of ``dimensions`` in scope, as their examples use ``Int``).
"""

import doctest

from kerastune_kit import _dimension_base, choices, dimensions


def test_doctests_of_the_base_class_and_the_discrete_kinds_pass():
    attempted = 0
    for module in (_dimension_base, choices):
        failed, tried = doctest.testmod(module, extraglobs=vars(dimensions),
                                        optionflags=doctest.ELLIPSIS)
        assert failed == 0
        attempted += tried
    assert attempted >= 6
