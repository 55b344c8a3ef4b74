"""The `lac` hub module: Baidu LAC 2.1.2 with PaddleHub's interface.

    import hubcore as hub
    lac = hub.Module(name="lac")                 # mode="lac": words, POS tags, entities
    lac.cut("LAC是个优秀的分词工具")              # ['LAC', '是', '个', '优秀', '的', '分词', '工具']
    lac.cut(["百度是一家高科技公司"])             # [{'word': [...], 'tag': ['ORG', 'v', 'm', 'n', 'n']}]
    hub.Module(name="lac", mode="seg")           # words only, smaller and faster
    hub.Module(name="lac", mode="rank")          # plus word importance 0-3 under "rank"
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import hubcore
from hubcore.errors import InputError
from hubcore.inference import gpu_available, parse_device

from . import inputs
from .analyzer import ARTIFACTS_BY_MODE, Analyzer, Sentence, build_analyzer
from .batching import plan_batches
from .pieces import split_text
from .tagset import TAGS
from .user_dict import UserDict

DEFAULT_BATCH_SIZE = 256


class LAC(hubcore.Module):
    """Chinese lexical analysis. Init args: mode ("lac", "seg" or "rank"), user_dict (path of a
    user dictionary), device ("cpu" or "gpu[:N]"), threads (CPU math threads), mkldnn (oneDNN on CPU;
    off by default: it builds kernels per input shape, and real text brings new shapes every call)."""

    def __init__(self, mode: str = "lac", user_dict: str | Path | None = None, device: str = "cpu",
                 threads: int = 1, mkldnn: bool = False) -> None:
        self.mode = inputs.check_mode(mode)
        threads = inputs.check_positive_int(threads, "threads", "CPU math threads")
        kind, index = parse_device(device)
        self.device = "cpu" if kind == "cpu" else f"gpu:{index}"
        self._user_dict: UserDict | None = None
        if user_dict is not None:
            self._user_dict = _load_user_dict(user_dict, None, "user_dict")
        self._analyzer: Analyzer = build_analyzer(self.mode, self.artifact, threads, inputs.check_bool(mkldnn, "mkldnn"))
        # Create the predictor now, so a bad device or a broken artifact fails at load, not mid-request.
        self._analyzer.analyze(["预热"], None, self.device)

    # -- analysis ---------------------------------------------------------------------------------
    @hubcore.serving(batch="text", default=True)
    def cut(self, text: list[str], return_tag: bool = True, batch_size: int = DEFAULT_BATCH_SIZE,
            use_gpu: bool = False) -> list:
        """Cut Chinese text into words, with part-of-speech / entity tags.

        Args:
            text: sentences to analyse (in Python also one string, answered with its list of words).
            return_tag: include each sentence's tags under "tag" (lac and rank modes).
            batch_size: sentences per predictor call; larger batches are faster.
            use_gpu: run on the GPU (paddlepaddle-gpu needed); default the module's device.

        Returns one {"word": [...], "tag": [...]} per sentence (seg mode: "word" only; rank mode
        adds "rank": each word's importance 0-3). An empty sentence gives empty lists.
        """
        texts, single = inputs.check_text_or_texts(text, "text")
        results = self._run(texts, return_tag, batch_size, use_gpu)
        return results[0]["word"] if single else results

    def lexical_analysis(self, texts: list[str] | None = None, data: dict | None = None, return_tag: bool = True,
                         batch_size: int = DEFAULT_BATCH_SIZE, use_gpu: bool = False) -> list[dict]:
        """PaddleHub's other entry point: texts=[...] (or data={"text": [...]}) -> one dict per sentence.

        Args:
            texts: sentences to analyse.
            data: {"text": [...]}, PaddleHub's older way of passing the sentences.
            return_tag: include each sentence's tags under "tag".
            batch_size: sentences per predictor call.
            use_gpu: run on the GPU (paddlepaddle-gpu needed).
        """
        if (texts is None) == (data is None):
            raise InputError("lexical_analysis: pass the sentences as texts=[...] (or as data={'text': [...]}), "
                             "exactly one of the two")
        if data is not None:
            if not isinstance(data, dict) or set(data) != {"text"}:
                raise InputError(f"data: expected {{'text': [...]}}, got {data!r:.80}")
            sentences = inputs.check_texts(data["text"], "data['text']")
        else:
            sentences = inputs.check_texts(texts, "texts")
        return self._run(sentences, return_tag, batch_size, use_gpu)

    def _run(self, texts: list[str], return_tag: Any, batch_size: Any, use_gpu: Any) -> list[dict]:
        return_tag = inputs.check_bool(return_tag, "return_tag")
        batch_size = inputs.check_positive_int(batch_size, "batch_size", "sentences per predictor call")
        device = self.device
        if inputs.check_bool(use_gpu, "use_gpu") and device == "cpu":
            if not gpu_available():
                raise InputError("use_gpu=True but this paddle sees no GPU; leave use_gpu out (the module runs "
                                 "on its device), or install paddlepaddle-gpu on a machine with a GPU")
            device = "gpu:0"
        user_dict = self._user_dict
        pieces = [split_text(t) for t in texts]
        flat = [p for parts in pieces for p in parts]
        analysed: list[Sentence | None] = [None] * len(flat)
        for indexes in plan_batches([len(t) for t in flat], batch_size):
            for i, sentence in zip(indexes, self._analyzer.analyze([flat[i] for i in indexes], user_dict, device)):
                analysed[i] = sentence
        out, start = [], 0
        for parts in pieces:
            out.append(_as_dict(_joined(analysed[start:start + len(parts)]), return_tag))
            start += len(parts)
        return out

    # -- user dictionary --------------------------------------------------------------------------
    def set_user_dict(self, dict_path: str | Path, sep: str | None = None) -> None:
        """Use a user dictionary (replacing any previous one): one item a line, "word/TAG" words
        separated by whitespace (or sep), e.g. "春天/SEASON", "花/n 开/v", "秋天的风"."""
        self._user_dict = _load_user_dict(dict_path, sep, "dict_path")

    def add_word(self, word: str, sep: str | None = None) -> None:
        """Add one user dictionary item, in the same format as a dictionary line."""
        line = inputs.check_text(word, "word")
        # A new object rather than a change in place: a call running meanwhile keeps a whole dictionary.
        user_dict = self._user_dict.copy() if self._user_dict is not None else UserDict()
        user_dict.add(line, inputs.check_sep(sep))
        self._user_dict = user_dict

    def del_user_dict(self) -> None:
        """Stop using the user dictionary."""
        self._user_dict = None

    # -- export -----------------------------------------------------------------------------------
    def export(self, path: str | Path) -> Path:
        """Copy this mode's Paddle inference models (LAC's own format: model/__model__ + one file per
        parameter, conf/ dictionaries) under path/<artifact>/; `paddle.inference.Config(path/lac_model/model)`
        loads them. Returns path."""
        if not isinstance(path, (str, Path)):
            raise InputError(f"path: expected a folder path, got {type(path).__name__}")
        target = Path(path).expanduser()
        for name in ARTIFACTS_BY_MODE[self.mode]:
            if (target / name).exists():
                raise InputError(f"path: {target / name} already exists; export into an empty or new folder")
        for name in ARTIFACTS_BY_MODE[self.mode]:
            shutil.copytree(self.artifact(name), target / name)
        return target

    @classmethod
    def sample_input(cls) -> dict:
        """Keyword arguments for the default signature (used by `hub check` and the docs)."""
        return {"text": ["LAC是个优秀的分词工具", "百度是一家高科技公司"]}

    @staticmethod
    def get_tags() -> dict[str, str]:
        """The tags the model gives and their meaning."""
        return dict(TAGS)


def _load_user_dict(path: str | Path, sep: str | None, argument: str) -> UserDict:
    return UserDict.from_file(path, inputs.check_sep(sep), argument=argument)


def _joined(parts: list) -> Sentence:
    """One sentence from the analyses of its pieces, in order."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return Sentence([w for p in parts for w in p.words],
                    None if first.tags is None else [t for p in parts for t in p.tags],
                    None if first.rank is None else [r for p in parts for r in p.rank])


def _as_dict(sentence: Sentence, return_tag: bool) -> dict:
    out: dict = {"word": sentence.words}
    if return_tag and sentence.tags is not None:
        out["tag"] = sentence.tags
    if sentence.rank is not None:
        out["rank"] = sentence.rank
    return out
