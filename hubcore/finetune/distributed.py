"""Training on several devices or processes through paddle.distributed.

Start the same script once per device with paddle's launcher; the Trainer notices and shards:

    python -m paddle.distributed.launch --nproc_per_node 2 train.py            # CPU: gloo backend
    python -m paddle.distributed.launch --gpus 0,1 train.py                     # GPUs: NCCL

Each process trains on its share of every epoch's batches (batch_size is per process), gradients
are averaged by paddle.DataParallel, evaluation counts are summed across processes, and only
rank 0 logs and writes checkpoints.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def rank_and_size() -> tuple[int, int]:
    import paddle.distributed as dist

    return dist.get_rank(), dist.get_world_size()


def init_parallel() -> None:
    """Join the process group started by paddle.distributed.launch (once per process)."""
    import paddle.distributed as dist

    if dist.get_world_size() > 1 and not dist.is_initialized():
        dist.init_parallel_env()


def wrap(model: Any) -> Any:
    """The layer to call in training: the model itself, or a DataParallel that averages gradients."""
    import paddle

    _, size = rank_and_size()
    if size == 1:
        return model
    # A module's backbone may hold parameters the head never uses (its original classifier);
    # without this, every process would wait forever for their gradients.
    return paddle.DataParallel(model, find_unused_parameters=True)


def sum_across(values: np.ndarray) -> np.ndarray:
    """Element-wise sum of values over every process (values itself with one process)."""
    import paddle
    import paddle.distributed as dist

    if rank_and_size()[1] == 1:
        return values
    tensor = paddle.to_tensor(np.asarray(values, dtype=np.float64))
    dist.all_reduce(tensor)
    return tensor.numpy()


def barrier() -> None:
    import paddle.distributed as dist

    if rank_and_size()[1] > 1:
        dist.barrier()
