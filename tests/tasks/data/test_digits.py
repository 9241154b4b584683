"""The digits task reads scikit-learn's bundled file itself; it must see what ``load_digits`` sees."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from sklearn.datasets import load_digits

from ohgw_bench.tasks.data.digits import load_digits_arrays, load_digits_splits


def test_the_bundled_file_gives_what_load_digits_gives():
    images, target = load_digits_arrays()
    bunch = load_digits()
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(target, bunch.target)


def test_loading_the_splits_does_not_import_scikit_learn():
    code = (
        "import sys;"
        " from ohgw_bench.tasks.data import digits as d; d.load_digits_splits(); print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_splits_are_disjoint_and_cover_the_data():
    splits = load_digits_splits()
    sizes = (len(splits.train_y), len(splits.val_y), len(splits.test_y))
    assert sum(sizes) == 1797 and min(sizes) > 300
