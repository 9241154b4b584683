"""CIFAR-10 tasks: ResNet-20 (main), ResNet-50 (deeper check), 10% symmetric label noise.

Data comes from the official ``cifar-10-python.tar.gz`` imported once with
``ohgw-bench data import PATH``; nothing downloads at run time. Targets τ are validation
accuracies that a tuned ResNet-20 passes well before 200 epochs (≈92% is typical at full
budget), so T@τ measures how fast a scheduler finds a good config, not whether it can.
"""
from ohgw_bench.registry import register_task
from ohgw_bench.space import study_space
from ohgw_bench.specs import TaskSpec

_SPACE = study_space(lr=(-3.0, 0.0), wd=(-6.0, -2.0), momentum=(0.5, 0.99),
                     magnitude=(0.0, 30.0), smoothing=(0.0, 0.3))
_COMMON = dict(space=_SPACE, max_epochs=200, dataset="ohgw_bench.data.cifar10:load_cifar10",
               augment="ohgw_bench.data.augment:cifar_augment", batch_size=128)

register_task(TaskSpec(name="cifar10-resnet20", target=0.90,
                       description="CIFAR-10 45k/5k/10k, ResNet-20 (0.27M), RandAugment+Cutout, 200 epochs",
                       model="ohgw_bench.models.resnet_cifar:resnet20", **_COMMON))
register_task(TaskSpec(name="cifar10-resnet50", target=0.92,
                       description="CIFAR-10 45k/5k/10k, ResNet-50 bottleneck (23.5M), 200 epochs",
                       model="ohgw_bench.models.resnet_cifar:resnet50", **_COMMON))
register_task(TaskSpec(name="cifar10-resnet20-noisy10", target=0.80,
                       description="CIFAR-10 with 10% symmetric label noise (train/val), ResNet-20, 200 epochs",
                       model="ohgw_bench.models.resnet_cifar:resnet20",
                       dataset_kwargs=(("label_noise", 0.1),), **_COMMON))
