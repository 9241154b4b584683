"""``digits-cnn``: scikit-learn's 1,797 real 8×8 handwritten digits, a small BatchNorm CNN.

The CPU default: every command of the suite runs on it in seconds, on any laptop or CI.
Target τ = 0.95 validation accuracy. Measured on this project's 2-core CPU machine with
``ohgw-bench run --task digits-cnn --opt asha --budget 120s --workers 2`` (seeds 0-2):
see the README's "Choosing τ" note for the times at which plain ASHA first reached it.
"""
from ohgw_bench.registry import register_task
from ohgw_bench.space import study_space
from ohgw_bench.specs import TaskSpec

register_task(TaskSpec(
    name="digits-cnn",
    description="sklearn digits (1,797 real 8x8 images, 60/20/20 split), small BN CNN, 27 epochs, CPU",
    space=study_space(lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.0, 0.99),
                      magnitude=(0.0, 1.0), smoothing=(0.0, 0.3)),
    max_epochs=27,
    target=0.95,
    dataset="ohgw_bench.data.digits:load_digits_splits",
    model="ohgw_bench.models.small_cnn:small_cnn",
    augment="ohgw_bench.data.digits:digits_augment",
    batch_size=64,
))
