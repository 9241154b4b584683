"""The compiled (graph) training step against the eager one, on the CPU.

The CPU has no CUDA graphs, but it runs the same ``torch.compile`` path with the ``aot_eager``
backend: Dynamo captures the forward and the loss, and AOTAutograd builds the backward pass, as
on CUDA, without code generation. A counting wrapper around that backend records each graph
Dynamo compiles. The tests show that the two paths train alike, batch by batch. They also show
that a second trial in the same process compiles nothing, and that the small last batch
compiles once, not once per epoch.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ohgw_bench.core.space import TrainingHparams
from ohgw_bench.core.splits import DataSplits
from ohgw_bench.execution.graphs import GraphedTraining, GraphSettings, graphed_training, smoothed_cross_entropy
from ohgw_bench.execution.train import Trainer
from ohgw_bench.tasks.models.small_cnn import SmallCNN

N_TRAIN, BATCH = 200, 64  # 3 full batches and a last one of 8


class CountingBackend:
    """``aot_eager`` that records the batch size of every graph Dynamo hands it (-1: no image input)."""

    def __init__(self) -> None:
        self.compiled: list[int] = []
        self.inner = torch._dynamo.lookup_backend("aot_eager")

    def __call__(self, gm: torch.fx.GraphModule, example_inputs: list) -> object:
        batch = [t.shape[0] for t in example_inputs if isinstance(t, torch.Tensor) and t.shape[1:] == (1, 8, 8)]
        self.compiled.append(batch[0] if batch else -1)
        return self.inner(gm, example_inputs)


def _data() -> DataSplits:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (N_TRAIN + 100, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (N_TRAIN + 100,), generator=g)
    return DataSplits(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:], x[N_TRAIN:], y[N_TRAIN:], 10)


def _train_inputs(x: torch.Tensor, magnitude: float, gen: torch.Generator) -> torch.Tensor:
    """Augmentation with random draws, so that both paths must consume the generator alike."""
    noise = torch.rand(x.shape, generator=gen, device=x.device) * magnitude
    return x.float() / 255.0 + noise


def _trainer(seed: int, hparams: TrainingHparams, graphs: GraphedTraining | None) -> Trainer:
    torch.manual_seed(seed)
    return Trainer(
        SmallCNN(10, width=8),
        _data(),
        hparams,
        train_inputs=_train_inputs,
        eval_inputs=lambda x: x.float() / 255.0,
        batch_size=BATCH,
        max_epochs=4,
        seed=seed,
        graphs=graphs,
    )


def _epochs(trainer: Trainer, n: int) -> list[float]:
    """Train loss, validation accuracy and loss of ``n`` more epochs, flat."""
    out = []
    for _ in range(n):
        r = trainer.run_epoch()
        out += [r.train_loss, r.val_acc, r.val_loss]
    return out


def _same_weights(a: Trainer, b: Trainer) -> bool:
    pairs = zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True)
    return all(torch.allclose(x.float(), y.float(), rtol=1e-4, atol=1e-6) for x, y in pairs)


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_smoothed_cross_entropy_is_torchs_label_smoothing():
    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(32, 10, generator=g), torch.randint(0, 10, (32,), generator=g)
    for s in (0.0, 0.1, 0.3):
        ours = smoothed_cross_entropy(logits, y, torch.tensor(s))
        assert ours.item() == pytest.approx(F.cross_entropy(logits, y, label_smoothing=s).item(), rel=1e-6)


def test_graph_path_trains_like_eager_and_compiles_once_per_process():
    backend = CountingBackend()
    graphs = GraphedTraining(GraphSettings(backend=backend, mode=None))
    first = TrainingHparams(lr=0.05, weight_decay=5e-4, momentum=0.9, aug_magnitude=0.2, label_smoothing=0.1)
    second = TrainingHparams(lr=0.2, weight_decay=1e-3, momentum=0.5, aug_magnitude=0.5, label_smoothing=0.25)

    eager_trainer = _trainer(0, first, None)
    eager = _epochs(eager_trainer, 2)
    trainer = _trainer(0, first, graphs)
    graphed = _epochs(trainer, 1)
    assert sorted(backend.compiled) == [N_TRAIN % BATCH, BATCH]  # one graph per batch shape
    graphed += _epochs(trainer, 1)
    assert len(backend.compiled) == 2  # epoch 2: its last small batch compiled nothing new
    assert graphed == pytest.approx(eager, rel=1e-5, abs=1e-6)
    assert _same_weights(trainer, eager_trainer)
    assert trainer.compile_seconds > 0
    assert trainer.model is graphs.module

    # A second trial in the same process: other weights, lr, smoothing; no compilation.
    eager_trainer2 = _trainer(1, second, None)
    eager2 = _epochs(eager_trainer2, 2)
    trainer2 = _trainer(1, second, graphs)
    graphed2 = _epochs(trainer2, 2)
    assert len(backend.compiled) == 2
    assert trainer2.compile_seconds == 0.0
    assert graphed2 == pytest.approx(eager2, rel=1e-5, abs=1e-6)
    assert _same_weights(trainer2, eager_trainer2)
    assert graphed2 != pytest.approx(graphed, rel=1e-3)  # it did train other weights


def test_second_trial_starts_from_its_own_weights():
    graphs = GraphedTraining(GraphSettings(backend=CountingBackend(), mode=None))
    hp = TrainingHparams(lr=0.05, weight_decay=5e-4, momentum=0.9, aug_magnitude=0.2, label_smoothing=0.1)
    _epochs(_trainer(0, hp, graphs), 1)
    torch.manual_seed(3)
    fresh = SmallCNN(10, width=8)
    adopted = _trainer(3, hp, graphs).model
    for a, b in zip(adopted.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_one_graphed_training_per_key_and_settings():
    settings = GraphSettings(backend="aot_eager", mode=None)
    assert graphed_training(("t", "cpu"), settings) is graphed_training(("t", "cpu"), settings)
    assert graphed_training(("t", "cpu"), settings) is not graphed_training(("u", "cpu"), settings)


def test_step_before_adopt_is_an_error():
    graphs = GraphedTraining(GraphSettings(backend="aot_eager", mode=None))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(RuntimeError, match="before adopt"):
        graphs.step(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long), opt, 0.0)
