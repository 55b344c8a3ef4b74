"""Transfer learning with hub.Trainer: mobilenet_v2_imagenet on scikit-learn's digits.

    .venv/bin/python tools/bench/bench_finetune.py [--epochs 3] [--size 64] [--limit 0]

Side by side, in one run and on the same splits (hubcore.finetune.sklearn_digits, hash split of
seed 0, train / test): the whole network fine-tuned through `context(trainable=True)`, and a
linear head over the frozen ImageNet backbone (`trainable=False`). Prints a table of held-out
accuracy, macro F1 and wall time, with the time ratio.
"""
from __future__ import annotations

import argparse
import time

import paddle

import hubcore as hub
from hubcore.finetune import Classifier, sized_image_context, sklearn_digits


def run(trainable: bool, args: argparse.Namespace) -> dict:
    limit = args.limit or None
    train = sklearn_digits("train", size=args.size, limit=limit)
    test = sklearn_digits("test", size=args.size)
    module = hub.Module(name="mobilenet_v2_imagenet")  # a fresh instance: fresh pretrained weights
    paddle.seed(0)
    model = Classifier(sized_image_context(module.context(trainable=trainable), args.size), train.label_list)
    steps = args.epochs * -(-len(train) // 32)
    # Decaying to zero lets batch-norm running statistics catch up with the final weights.
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(args.learning_rate, T_max=steps)
    optimizer = paddle.optimizer.Adam(learning_rate=schedule, parameters=model.parameters())
    trainer = hub.Trainer(model, optimizer, seed=0)
    started = time.monotonic()
    trainer.train(train, epochs=args.epochs, batch_size=32, log_interval=20)
    seconds = time.monotonic() - started
    result = trainer.evaluate(test, batch_size=64)
    return {"setting": "fine-tune all" if trainable else "frozen backbone", "train": len(train), "test": len(test),
            "acc": result["acc"], "f1": result["f1"], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="train examples (0: the whole train split)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args()
    rows = [run(True, args), run(False, args)]
    base = rows[0]["seconds"]
    print(f"\nmobilenet_v2_imagenet on sklearn digits at {args.size}x{args.size}, {args.epochs} epochs, batch 32, "
          f"Adam {args.learning_rate} with cosine decay")
    print(f"{'setting':<18} {'train':>6} {'test':>5} {'held-out acc':>12} {'macro F1':>9} {'train s':>8} {'time ratio':>10}")
    for row in rows:
        print(f"{row['setting']:<18} {row['train']:>6} {row['test']:>5} {row['acc']:>12.4f} {row['f1']:>9.4f} "
              f"{row['seconds']:>8.1f} {row['seconds'] / base:>10.2f}")


if __name__ == "__main__":
    main()
