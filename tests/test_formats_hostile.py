"""Hostile weight files: hubcore.formats' readers stay within time and memory bounded by the file's size.

Each file is crafted here, opcode by opcode or field by field, to do what a hostile or damaged
file does: reuse shared parts until a structure is exponentially large, nest 100,000 levels deep,
claim 2^40 elements in a few hundred bytes, point past the end of its storage, or be a damaged zip.
Every read runs in a child process with a memory limit, an alarm per file and a timeout, so a
regression shows as a failure instead of a hung or exhausted test run; each must end in the
reader's hubcore error, naming the file and what is wrong. A light fuzz (fixed seed) mutates small
valid files and accepts only a valid result or a hubcore error.
"""
from __future__ import annotations

import collections
import json
import pickle
import random
import re
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np

from hubcore.formats.torch_state import LEGACY_MAGIC

CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a regression raises MemoryError, not swapping

    import numpy as np
    from hubcore.errors import HubError
    from hubcore.formats import pdparams, torch_state

    READERS = {"pdparams": pdparams.read_pdparams, "torch": torch_state.load_state_dict,
               "stream": pdparams.read_tensor_stream, "program": pdparams.read_program,
               "inference": pdparams.read_inference_model}

    def summary(result):
        if isinstance(result, dict):
            return {str(k): [str(v.dtype), list(v.shape), float(v.sum())] for k, v in result.items()
                    if isinstance(v, np.ndarray)}
        if isinstance(result, list):
            return [[str(v.dtype), list(v.shape)] for v in result]
        return type(result).__name__

    def timeout(signum, frame):
        raise TimeoutError("the reader ran past its alarm")

    signal.signal(signal.SIGALRM, timeout)
    for reader, args in json.load(open(sys.argv[1])):
        signal.alarm(int(sys.argv[2]))
        try:
            out = {"ok": True, "result": summary(READERS[reader](*args))}
        except HubError as exc:
            out = {"ok": False, "hub": True, "type": type(exc).__name__, "message": str(exc)}
        except BaseException as exc:
            out = {"ok": False, "hub": False, "type": type(exc).__name__, "message": str(exc)[:500]}
        signal.alarm(0)
        print(json.dumps(out), flush=True)
    """)


def read_in_child(tmp_path: Path, jobs: list[tuple[str, list]], per_file_s: int = 20) -> list[dict]:
    """Run each (reader, args) in one child process; one outcome per job, in order."""
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps([[reader, [str(a) for a in args]] for reader, args in jobs]))
    timeout = 60 + per_file_s * len(jobs) // 10
    done = subprocess.run([sys.executable, "-c", CHILD, str(jobs_file), str(per_file_s)], capture_output=True,
                          text=True, timeout=timeout, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    outcomes = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(outcomes) == len(jobs), f"the child stopped after {len(outcomes)} of {len(jobs)}: {done.stderr[-3000:]}"
    return outcomes


def read_one(tmp_path: Path, reader: str, *args) -> dict:
    return read_in_child(tmp_path, [(reader, list(args))])[0]


def assert_refused(outcome: dict, error: str, path: Path, pattern: str) -> None:
    assert not outcome["ok"], outcome
    assert outcome["hub"] and outcome["type"] == error, outcome
    assert str(path) in outcome["message"], outcome
    assert re.search(pattern, outcome["message"]), outcome


# -- a tiny pickle assembler --------------------------------------------------------------------

def uni(text: str) -> bytes:
    data = text.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def raw(data: bytes) -> bytes:
    return pickle.BINBYTES + struct.pack("<I", len(data)) + data


def integer(n: int) -> bytes:
    if 0 <= n < 1 << 31:
        return pickle.BININT + struct.pack("<i", n)
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return pickle.LONG1 + bytes([len(data)]) + data


def glob(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def tup(*items: bytes) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def call(func: bytes, *args: bytes) -> bytes:
    return func + tup(*args) + pickle.REDUCE


def program(body: bytes) -> bytes:
    return pickle.PROTO + b"\x04" + body + pickle.STOP


def ordered_dict(**items: bytes) -> bytes:
    pairs = b"".join(uni(k) + v for k, v in items.items())
    return call(glob("collections", "OrderedDict")) + pickle.MARK + pairs + pickle.SETITEMS


def storage(key: str, numel: int, kind: str = "FloatStorage") -> bytes:
    return tup(uni("storage"), glob("torch", kind), uni(key), uni("cpu"), integer(numel)) + pickle.BINPERSID


def tensor(store: bytes, offset: int, shape: tuple, stride: tuple) -> bytes:
    return call(glob("torch._utils", "_rebuild_tensor_v2"), store, integer(offset), tup(*map(integer, shape)),
                tup(*map(integer, stride)), pickle.NEWFALSE, call(glob("collections", "OrderedDict")))


def ndarray(shape: tuple, data: bytes | None = None, *, data_op: bytes | None = None) -> bytes:
    """numpy's own pickle of a float32 array: _reconstruct(ndarray, (0,), b'b') then BUILD."""
    dtype = call(glob("numpy", "dtype"), uni("f4"), pickle.NEWFALSE, pickle.NEWTRUE)
    state = tup(integer(1), tup(*map(integer, shape)), dtype, pickle.NEWFALSE, data_op or raw(data))
    return call(glob("numpy.core.multiarray", "_reconstruct"), glob("numpy", "ndarray"), tup(integer(0)),
                raw(b"b")) + state + pickle.BUILD


def legacy_pth(path: Path, main: bytes, storages: dict[str, bytes], numels: dict[str, int] | None = None) -> Path:
    """torch's legacy layout: magic, protocol and system-info pickles, the main pickle, keys, storage bytes."""
    parts = [pickle.dumps(header, protocol=2) for header in (LEGACY_MAGIC, 1001, {"little_endian": True})]
    parts += [main, pickle.dumps(list(storages), protocol=2)]
    for key, data in storages.items():
        parts += [struct.pack("<q", (numels or {}).get(key, len(data) // 4)), data]
    path.write_bytes(b"".join(parts))
    return path


def zip_pth(path: Path, main: bytes, storages: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", main)
        z.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            z.writestr(f"archive/data/{key}", data)
    return path


WEIGHTS = np.arange(6, dtype=np.float32)


def valid_torch_main() -> bytes:
    store = storage("0", 6)
    return program(ordered_dict(weight=tensor(store + pickle.BINPUT + b"\x01", 0, (2, 3), (3, 1)),
                                bias=tensor(pickle.BINGET + b"\x01", 4, (2,), (1,))))


# -- protobuf and LoDTensor stream assemblers -----------------------------------------------------

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def tensor_desc(dims: list[int], dtype: int = 5) -> bytes:
    return field(1, dtype) + b"".join(field(2, d) for d in dims)


def lod_tensor(dims: list[int], data: bytes, levels: list[bytes] = ()) -> bytes:
    desc = tensor_desc(dims)
    head = struct.pack("<IQ", 0, len(levels)) + b"".join(struct.pack("<Q", len(x)) + x for x in levels)
    return head + struct.pack("<Ii", 0, len(desc)) + desc + data


def program_desc(names: list[str], dims: list[int]) -> bytes:
    var_type = field(1, 7) + field(3, field(1, tensor_desc(dims)))
    variables = b"".join(field(3, field(1, name.encode()) + field(2, var_type) + field(3, 1)) for name in names)
    return field(1, variables)


# -- the attacks ----------------------------------------------------------------------------------

def test_shared_references_cannot_blow_up_exponentially(tmp_path: Path) -> None:
    shared: list = [np.ones(2, dtype=np.float32)]
    for _ in range(40):  # 2^40 leaves as a tree, a few hundred bytes as a pickle with memo reuse
        shared = [shared, shared]
    pdparams = tmp_path / "shared.pdparams"
    pdparams.write_bytes(pickle.dumps({"w": WEIGHTS, "shared": shared}, protocol=2))
    numbers: list = [1]  # torch's reader accepts no numpy globals
    for _ in range(40):
        numbers = [numbers, numbers]
    pth = zip_pth(tmp_path / "shared.pth", pickle.dumps(collections.OrderedDict(shared=numbers), protocol=2), {})
    assert pdparams.stat().st_size < 1000 and pth.stat().st_size < 1500
    small = [np.zeros(1, np.float32)] * 3  # sharing a file really has is kept, and read
    (tmp_path / "small.pdparams").write_bytes(pickle.dumps({"w": WEIGHTS, "parts": [small, small]}, protocol=4))
    first, second, third = read_in_child(tmp_path, [("pdparams", [pdparams]), ("torch", [pth]),
                                                     ("pdparams", [tmp_path / "small.pdparams"])])
    assert_refused(first, "PaddleFormatError", pdparams, r"reuses shared parts until it holds \d+ items as a tree")
    assert_refused(second, "TorchFormatError", pth, r"reuses shared parts")
    assert third == {"ok": True, "result": {"w": ["float32", [6], 15.0]}}


def test_deep_nesting_and_self_reference_are_refused(tmp_path: Path) -> None:
    depth = 100_000
    nested = uni("w") + pickle.EMPTY_LIST * depth + pickle.APPEND * (depth - 1)
    pdparams = tmp_path / "deep.pdparams"
    pdparams.write_bytes(program(pickle.EMPTY_DICT + nested + pickle.SETITEM))
    pth = zip_pth(tmp_path / "deep.pth", program(call(glob("collections", "OrderedDict")) + nested
                                                 + pickle.SETITEM), {})
    looped: list = []
    looped.append(looped)
    cycle = tmp_path / "cycle.pdparams"
    cycle.write_bytes(pickle.dumps({"w": looped}, protocol=2))
    outcomes = read_in_child(tmp_path, [("pdparams", [pdparams]), ("torch", [pth]), ("pdparams", [cycle])])
    assert_refused(outcomes[0], "PaddleFormatError", pdparams, r"nests deeper than 64 levels")
    assert_refused(outcomes[1], "TorchFormatError", pth, r"nests deeper than 64 levels")
    assert_refused(outcomes[2], "PaddleFormatError", cycle, r"contains itself")


def test_huge_claims_in_tiny_files_are_refused_before_allocating(tmp_path: Path) -> None:
    huge = 1 << 40
    # the case: a legacy .pth whose storage claims 2^40 elements
    legacy = legacy_pth(tmp_path / "huge.pth", program(ordered_dict(w=tensor(storage("0", huge), 0, (huge,), (1,)))),
                        {"0": b"\0" * 8}, numels={"0": huge})
    # a tensor that expands one stored element to 2^40 (zero strides): what the file holds is tiny
    expanded = zip_pth(tmp_path / "expanded.pth",
                       program(ordered_dict(w=tensor(storage("0", 1), 0, (1 << 20, 1 << 20), (0, 0)))), {"0": b"\0" * 4})
    # .pdparams: an array of 2^40 elements over 4 bytes, a shape whose int64 product wraps to 0,
    # and a bytes opcode claiming 2^40 bytes
    arrays = {"numel": ndarray((huge,), b"\0" * 4), "wrap": ndarray((1 << 32, 1 << 32), b""),
              "bytes": ndarray((2,), data_op=pickle.BINBYTES8 + struct.pack("<Q", huge) + b"\0" * 8)}
    pdparams = {}
    for name, array in arrays.items():
        pdparams[name] = tmp_path / f"{name}.pdparams"
        pdparams[name].write_bytes(program(pickle.EMPTY_DICT + uni("w") + array + pickle.SETITEM))
    stream = tmp_path / "huge.pdiparams"
    stream.write_bytes(lod_tensor([1 << 20, 1 << 20], b"\0" * 16))
    lod = tmp_path / "lod.pdiparams"
    lod.write_bytes(struct.pack("<IQQ", 0, 1, 1 << 60) + b"\0" * 16)
    files = [legacy, expanded, *pdparams.values(), stream, lod]
    assert all(f.stat().st_size < 1000 for f in files)
    outcomes = read_in_child(tmp_path, [("torch", [legacy]), ("torch", [expanded])]
                             + [("pdparams", [p]) for p in pdparams.values()]
                             + [("stream", [stream]), ("stream", [lod])])
    assert_refused(outcomes[0], "TorchFormatError", legacy, rf"storage 0 \({huge} elements\) at byte \d+ claims "
                                                            rf"{huge * 4} bytes but only 8 remain")
    assert_refused(outcomes[1], "TorchFormatError", expanded, r"a tensor of shape \(1048576, 1048576\) would take "
                                                              r"reading it past \d+ bytes of memory")
    assert_refused(outcomes[2], "PaddleFormatError", pdparams["numel"], rf"needs {huge * 4} bytes, the file holds 4")
    assert_refused(outcomes[3], "PaddleFormatError", pdparams["wrap"], rf"needs {(1 << 64) * 4} bytes, the file holds 0")
    assert_refused(outcomes[4], "PaddleFormatError", pdparams["bytes"], rf"claims {huge} bytes but only \d+ remain")
    assert_refused(outcomes[5], "PaddleFormatError", stream, rf"tensor data at byte \d+ claims {huge * 4} bytes")
    assert_refused(outcomes[6], "PaddleFormatError", lod, rf"LoD offsets at byte 20 claims {1 << 60} bytes")


def test_offsets_and_sizes_past_the_end_of_a_storage_are_refused(tmp_path: Path) -> None:
    past = zip_pth(tmp_path / "offset.pth", program(ordered_dict(w=tensor(storage("0", 4), 3, (4,), (1,)))),
                   {"0": b"\0" * 16})
    short = zip_pth(tmp_path / "short.pth", program(ordered_dict(w=tensor(storage("0", 100), 0, (4,), (1,)))),
                    {"0": b"\0" * 16})
    cut = legacy_pth(tmp_path / "cut.pth", program(ordered_dict(w=tensor(storage("0", 6), 0, (6,), (1,)))),
                     {"0": WEIGHTS.tobytes()[:12]}, numels={"0": 6})
    negative = zip_pth(tmp_path / "negative.pth", program(ordered_dict(w=tensor(storage("0", 4), 0, (2,), (-1,)))),
                       {"0": b"\0" * 16})
    outcomes = read_in_child(tmp_path, [("torch", [p]) for p in (past, short, cut, negative)])
    assert_refused(outcomes[0], "TorchFormatError", past, r"shape \(4,\) at offset 3 reaches outside its storage "
                                                          r"\(4 elements\)")
    assert_refused(outcomes[1], "TorchFormatError", short, r"storage 0 holds 16 bytes but the pickle says it has "
                                                           r"100 elements \(400 bytes\)")
    assert_refused(outcomes[2], "TorchFormatError", cut, r"storage 0 \(6 elements\) at byte \d+ claims 24 bytes "
                                                         r"but only 12 remain")
    assert_refused(outcomes[3], "TorchFormatError", negative, r"a tensor stride is -1")


def _patch_zip_method(data: bytes, method: int) -> bytes:
    """The compression method of every member, in its local header and its central directory entry."""
    out = bytearray(data)
    for signature, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := out.find(signature, start)) != -1:
            out[start + at:start + at + 2] = struct.pack("<H", method)
            start += 4
    return bytes(out)


def test_damaged_zip_archives_are_format_errors(tmp_path: Path) -> None:
    good = zip_pth(tmp_path / "good.pth", valid_torch_main(), {"0": WEIGHTS.tobytes()})
    data = good.read_bytes()
    flipped = tmp_path / "flipped.pth"  # one bit of the storage's bytes: its CRC no longer matches
    at = data.index(WEIGHTS.tobytes())
    flipped.write_bytes(data[:at + 5] + bytes([data[at + 5] ^ 1]) + data[at + 6:])
    truncated = tmp_path / "truncated.pth"  # its central directory is gone
    truncated.write_bytes(data[: len(data) // 2])
    directory = tmp_path / "directory.pth"  # the end record points the directory past the file
    end = data.rindex(b"PK\x05\x06")
    directory.write_bytes(data[:end + 16] + struct.pack("<I", len(data) * 2) + data[end + 20:])
    method = tmp_path / "method.pth"  # a compression method no one implements
    method.write_bytes(_patch_zip_method(data, 99))
    outcomes = read_in_child(tmp_path, [("torch", [p]) for p in (good, flipped, truncated, directory, method)])
    assert outcomes[0]["ok"] and outcomes[0]["result"]["weight"] == ["float32", [2, 3], 15.0], outcomes[0]
    assert_refused(outcomes[1], "TorchFormatError", flipped, r"archive member archive/data/0 is damaged "
                                                             r"\(BadZipFile: Bad CRC-32")
    assert_refused(outcomes[2], "TorchFormatError", truncated, r"is a damaged zip archive \(BadZipFile")
    assert_refused(outcomes[3], "TorchFormatError", directory, r"damaged")
    assert_refused(outcomes[4], "TorchFormatError", method, r"archive member archive/\S+ is damaged "
                                                            r"\(NotImplementedError")


def test_truncated_files_are_format_errors_at_every_length(tmp_path: Path) -> None:
    pdparams = pickle.dumps({"w": WEIGHTS, "b": np.ones(2, np.float32)}, protocol=4)
    legacy = legacy_pth(tmp_path / "full.pth", valid_torch_main(), {"0": WEIGHTS.tobytes()}).read_bytes()
    stream = lod_tensor([2, 3], WEIGHTS.tobytes()) + lod_tensor([2], WEIGHTS.tobytes()[:8])
    jobs = []
    for reader, data, suffix in (("pdparams", pdparams, "pdparams"), ("torch", legacy, "pth"),
                                 ("stream", stream, "pdiparams")):
        for length in range(1, len(data), max(1, len(data) // 40)):
            path = tmp_path / f"{reader}_{length}.{suffix}"
            path.write_bytes(data[:length])
            jobs.append((reader, [path]))
    outcomes = read_in_child(tmp_path, jobs)
    for (reader, (path,)), outcome in zip(jobs, outcomes):
        assert not outcome["ok"] and outcome["hub"], (path.name, outcome)
        assert outcome["type"] in ("PaddleFormatError", "TorchFormatError"), (path.name, outcome)
        assert str(path) in outcome["message"], (path.name, outcome)


def test_keys_that_hash_slowly_or_collide_are_refused(tmp_path: Path) -> None:
    colliding = {k * ((1 << 61) - 1): None for k in range(1, 50)}  # every key hashes to 0
    ints = tmp_path / "collide.pdparams"
    ints.write_bytes(pickle.dumps({"w": WEIGHTS, "index": colliding}, protocol=2))
    key = ()
    for _ in range(30):  # hashing a shared nested tuple is exponential in its depth
        key = (key, key)
    tuples = tmp_path / "tuples.pdparams"
    tuples.write_bytes(pickle.dumps({"w": WEIGHTS, key: 1}, protocol=2))
    # dict(pairs) called over and over on one memoized list: each call copies all of it (quadratic)
    pairs = pickle.EMPTY_LIST + pickle.BINPUT + b"\x01" + pickle.MARK
    pairs += b"".join(uni(f"k{i}") + pickle.NONE + pickle.TUPLE2 for i in range(5000)) + pickle.APPENDS
    setup = glob("builtins", "dict") + pickle.BINPUT + b"\x02" + pickle.POP
    setup += pickle.BINGET + b"\x01" + pickle.TUPLE1 + pickle.BINPUT + b"\x03" + pickle.POP
    repeat = (pickle.BINGET + b"\x02" + pickle.BINGET + b"\x03" + pickle.REDUCE + pickle.POP) * 50_000
    copies = tmp_path / "copies.pdparams"
    copies.write_bytes(program(pairs + setup + repeat + pickle.EMPTY_DICT))
    outcomes = read_in_child(tmp_path, [("pdparams", [p]) for p in (ints, tuples, copies)])
    assert_refused(outcomes[0], "PaddleFormatError", ints, rf"a dict key \(or set item\) is {(1 << 61) - 1}; a state dict keys by names")
    assert_refused(outcomes[1], "PaddleFormatError", tuples, r"a dict key is a nested tuple")
    assert_refused(outcomes[2], "PaddleFormatError", copies, r"the objects its pickle builds would take past \d+ bytes")


def test_floods_of_small_objects_are_bounded_while_many_small_arrays_read(tmp_path: Path) -> None:
    sets = tmp_path / "sets.pdparams"  # 2 MB of one-byte opcodes each building an empty set (224 bytes)
    sets.write_bytes(program(pickle.EMPTY_SET * (2 << 20)))
    tiny = tmp_path / "tiny.pdparams"  # a real state dict of 20,000 tiny arrays: 8x its size in objects
    tiny.write_bytes(pickle.dumps({f"blocks.{i}.bias": np.full(16, i, np.float32) for i in range(20_000)}, protocol=4))
    refused, read = read_in_child(tmp_path, [("pdparams", [sets]), ("pdparams", [tiny])])
    assert_refused(refused, "PaddleFormatError", sets, r"the objects its pickle builds would take past \d+ bytes")
    assert read["ok"] and len(read["result"]) == 20_000, read
    assert read["result"]["blocks.19999.bias"] == ["float32", [16], 16 * 19999.0]


def test_a_file_cannot_change_the_readers_stand_ins(tmp_path: Path) -> None:
    # BUILD on torch.FloatStorage would rename the process-wide stand-in for every later file
    evil = zip_pth(tmp_path / "evil.pth", program(glob("torch", "FloatStorage") + pickle.EMPTY_DICT + uni("name")
                                                  + uni("LongStorage") + pickle.SETITEM + pickle.BUILD), {})
    good = zip_pth(tmp_path / "good.pth", valid_torch_main(), {"0": WEIGHTS.tobytes()})
    new_object = tmp_path / "newobj.pth"  # NEWOBJ of a function stand-in
    zip_pth(new_object, program(glob("torch._utils", "_rebuild_tensor_v2") + pickle.EMPTY_TUPLE + pickle.NEWOBJ), {})
    outcomes = read_in_child(tmp_path, [("torch", [evil]), ("torch", [good]), ("torch", [new_object])])
    assert_refused(outcomes[0], "UnsafePickleError", evil, r"sets the state of a _StorageType")
    assert outcomes[1] == {"ok": True, "result": {"weight": ["float32", [2, 3], 15.0], "bias": ["float32", [2], 9.0]}}
    assert_refused(outcomes[2], "UnsafePickleError", new_object, r"creates an object of a function directly")


def test_programs_cannot_point_outside_their_folder_or_nest_without_end(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret").write_bytes(lod_tensor([2], b"\0" * 8))  # a valid tensor file, outside the folder
    (folder / "__model__").write_bytes(program_desc(["../secret"], [2]))
    deep = tmp_path / "deep.json"
    deep.write_text('{"program": {"regions": [' + "[" * 200_000 + "]" * 200_000 + "]}}")
    many = tmp_path / "many.pdmodel"  # 20,000 parameters: the use order must not be quadratic in them
    many.write_bytes(program_desc([f"p{i}" for i in range(20_000)], [1]))
    outcomes = read_in_child(tmp_path, [("inference", [folder / "__model__", folder]), ("program", [deep]),
                                        ("program", [many])])
    assert_refused(outcomes[0], "PaddleFormatError", folder / "__model__",
                   r"names parameter '\.\./secret', which is not a plain file name")
    assert_refused(outcomes[1], "PaddleFormatError", deep, r"nests too deeply")
    assert outcomes[2] == {"ok": True, "result": "ProgramInfo"}


# -- light fuzzing ----------------------------------------------------------------------------------

def _mutants(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        mutant = bytearray(data)
        how = rng.randrange(4)
        if how == 0:  # overwrite a few bytes
            for _ in range(rng.randint(1, 4)):
                mutant[rng.randrange(len(mutant))] = rng.randrange(256)
        elif how == 1:  # a length or count field set to something large
            at = rng.randrange(len(mutant))
            mutant[at:at + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff\xff\xff\xff"])
        elif how == 2:  # bytes inserted
            at = rng.randrange(len(mutant))
            mutant[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:  # a span deleted
            at = rng.randrange(len(mutant))
            del mutant[at:at + rng.randint(1, 16)]
        out.append(bytes(mutant))
    return out


def test_mutated_valid_files_give_a_result_or_a_hubcore_error(tmp_path: Path) -> None:
    bases = {
        ("pdparams", "p2.pdparams"): pickle.dumps({"w": WEIGHTS.reshape(2, 3), "b": np.ones(2, np.float32)}, protocol=2),
        ("pdparams", "p4.pdparams"): pickle.dumps({"w": WEIGHTS, "step": np.int64(3)}, protocol=4),
        ("torch", "legacy.pth"): legacy_pth(tmp_path / "l.pth", valid_torch_main(),
                                            {"0": WEIGHTS.tobytes()}).read_bytes(),
        ("torch", "zip.pth"): zip_pth(tmp_path / "z.pth", valid_torch_main(), {"0": WEIGHTS.tobytes()}).read_bytes(),
        ("stream", "x.pdiparams"): lod_tensor([2, 3], WEIGHTS.tobytes(), levels=[struct.pack("<2Q", 0, 2)]),
        ("program", "x.pdmodel"): program_desc(["conv.w", "conv.b"], [2, 3]),
    }
    rng = random.Random(20261204)
    jobs = []
    for (reader, name), data in bases.items():
        for i, mutant in enumerate([data] + _mutants(data, rng, 120)):
            path = tmp_path / f"{i}_{name}"
            path.write_bytes(mutant)
            jobs.append((reader, [path]))
    outcomes = read_in_child(tmp_path, jobs, per_file_s=10)
    originals = [o for (_, (path,)), o in zip(jobs, outcomes) if path.name.startswith("0_")]
    assert all(o["ok"] for o in originals), originals  # the valid files themselves read
    bad = [(path.name, o) for (_, (path,)), o in zip(jobs, outcomes) if not (o["ok"] or o["hub"])]
    assert not bad, bad[:5]
    errors = [o for o in outcomes if not o["ok"]]
    assert len(errors) > len(jobs) // 3  # the mutations did damage most files
    unnamed = [(path.name, o) for (_, (path,)), o in zip(jobs, outcomes) if not o["ok"] and str(path) not in o["message"]]
    assert not unnamed, unnamed[:5]
