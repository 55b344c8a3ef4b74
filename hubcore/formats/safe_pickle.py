"""A restricted pickle reader whose work and memory are bounded by the size of the file it reads.

Weight files (.pth, .pdparams) are pickles. pickle.load runs whatever the file names; and even a
pickle naming only harmless callables can hang or exhaust memory with its own opcodes: a memo
entry reused until a structure is exponentially large, dict keys whose hashing costs more at
every reuse (or that all collide), a length field claiming terabytes. This reader runs the
standard library's pure-Python unpickler, whose opcode loop is a table this module can wrap, with:
  - find_class limited to the reader's allowlist of stand-ins;
  - every opcode, and every element it consumes wholesale, charged to the file's Budget;
  - dict keys and set items limited to strings, bytes and small integers (hashed cheaply, and
    never crafted to collide);
  - BUILD only on the types that expect it, NEWOBJ only on allowlisted classes, and calls with a
    tuple of few arguments;
  - reads past the end of the file refused (BoundedFile) before anything is allocated.
The result is then converted by `materialise`, which keeps shared parts shared and bounds depth.
"""
from __future__ import annotations

import functools
import pickle
import struct
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import HubError
from .budget import MAX_DEPTH, BoundedFile, Budget, describe

MAX_CALL_ARGS = 16  # numpy's and torch's rebuild functions take at most 7
_ENTRY_BYTES = 40  # a dict entry or set item
# Bytes of Python objects each opcode creates (CPython, 64-bit, measured with tracemalloc); data an
# opcode reads from the file is charged as well. Opcodes not listed: 64.
_OP_BYTES = {
    pickle.PROTO: 0, pickle.FRAME: 0, pickle.STOP: 0, pickle.POP: 0, pickle.POP_MARK: 0,
    pickle.NONE: 8, pickle.NEWTRUE: 8, pickle.NEWFALSE: 8, pickle.BININT1: 8, pickle.DUP: 8,
    pickle.GET: 8, pickle.BINGET: 8, pickle.LONG_BINGET: 8, pickle.GLOBAL: 8, pickle.STACK_GLOBAL: 8,
    pickle.PUT: 104, pickle.BINPUT: 104, pickle.LONG_BINPUT: 104, pickle.MEMOIZE: 104,
    pickle.BININT: 32, pickle.BININT2: 32, pickle.INT: 32, pickle.LONG: 32, pickle.LONG1: 32, pickle.LONG4: 32,
    pickle.BINFLOAT: 32, pickle.FLOAT: 32,
    pickle.SHORT_BINUNICODE: 64, pickle.BINUNICODE: 64, pickle.BINUNICODE8: 64, pickle.UNICODE: 64,
    pickle.SHORT_BINBYTES: 40, pickle.BINBYTES: 40, pickle.BINBYTES8: 40, pickle.SHORT_BINSTRING: 64,
    pickle.BINSTRING: 64, pickle.STRING: 64, pickle.BYTEARRAY8: 64,
    pickle.EMPTY_TUPLE: 8, pickle.TUPLE1: 56, pickle.TUPLE2: 64, pickle.TUPLE3: 72, pickle.TUPLE: 64,
    pickle.EMPTY_LIST: 64, pickle.LIST: 64, pickle.APPEND: 8, pickle.APPENDS: 8, pickle.MARK: 64,
    pickle.EMPTY_DICT: 72, pickle.DICT: 72, pickle.SETITEM: _ENTRY_BYTES, pickle.SETITEMS: 0,
    pickle.EMPTY_SET: 224, pickle.FROZENSET: 224, pickle.ADDITEMS: 0,
}
_SMALL_INT = 1 << 31  # hashes of distinct ints this small never collide
_MAX_KEY_TUPLE = 16


@dataclass(frozen=True)
class Charged:
    """An allowlisted callable that allocates: it is handed the reader's Budget as its first argument."""

    func: Callable[..., Any]

    def bind(self, budget: Budget) -> Callable[..., Any]:
        return functools.partial(self.func, budget)


def check_key(budget: Budget, key: Any) -> None:
    """Refuse a dict key or set item whose hashing could be made slow or colliding."""
    if type(key) is tuple:
        if len(key) > _MAX_KEY_TUPLE:
            raise budget.fail(f"a dict key is a tuple of {len(key)} items; a state dict keys by names")
        budget.spend_work(len(key))
        for item in key:
            if type(item) is tuple:
                raise budget.fail("a dict key is a nested tuple; a state dict keys by names")
            check_key(budget, item)
        return
    if type(key) in (str, bytes, bool, type(None)):
        return
    if type(key) is int and -_SMALL_INT <= key < _SMALL_INT:
        return
    raise budget.fail(f"a dict key (or set item) is {describe(key)}; a state dict keys by names and small integers")


def new_dict(budget: Budget, kind: type, *args: Any) -> dict:
    """Stand-in for dict(...) / OrderedDict(...): copies at most one dict or list of pairs, keys checked."""
    if len(args) > 1:
        raise budget.fail(f"{kind.__name__}() is called with {len(args)} arguments")
    result = kind()
    if args:
        source = args[0]
        if not isinstance(source, (dict, list, tuple)):
            raise budget.fail(f"{kind.__name__}() is built from {describe(source)}")
        budget.spend_work(len(source))
        budget.spend_objects(_ENTRY_BYTES * len(source))
        for pair in (source.items() if isinstance(source, dict) else source):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise budget.fail(f"{kind.__name__}() is built from {describe(pair)}, not a (key, value) pair")
            check_key(budget, pair[0])
            result[pair[0]] = pair[1]
    return result


def new_list(budget: Budget, *args: Any) -> list:
    """Stand-in for list(...): copies at most one list or tuple."""
    if len(args) > 1 or (args and not isinstance(args[0], (list, tuple))):
        raise budget.fail("list() is called with something other than one list or tuple")
    items = args[0] if args else ()
    budget.spend_work(len(items))
    budget.spend_objects(8 * len(items))
    return list(items)


class RestrictedUnpickler(pickle._Unpickler):  # the pure-Python one: its opcode table can be wrapped
    """Unpickles from a BoundedFile, resolving globals only from `allowed`, within `budget`.

    `unsafe` is the error for what the file asks to run or build; subclasses word `refuse` and
    may accept persistent ids.
    """

    def __init__(self, file: BoundedFile, budget: Budget, allowed: Mapping[tuple[str, str], Any], *,
                 unsafe: type[HubError], buildable: tuple[type, ...] = (), encoding: str = "ASCII") -> None:
        super().__init__(file, encoding=encoding)
        self.file = file
        self.budget = budget
        self._allowed = allowed
        self._unsafe = unsafe
        self._buildable = buildable
        self._classes = tuple(v for v in allowed.values() if isinstance(v, type))

    def refuse(self, module: str, name: str) -> HubError:
        return self._unsafe(f"{self.budget.path}: the file asks to run {module[:100]}.{name[:100]}, which is not "
                            f"allowed in a plain state dict (it may run code when loaded)")

    def find_class(self, module: str, name: str) -> Any:
        entry = self._allowed.get((module, name))
        if entry is None:
            raise self.refuse(module, name)
        return entry.bind(self.budget) if isinstance(entry, Charged) else entry

    def persistent_load(self, pid: Any) -> Any:
        raise self._unsafe(f"{self.budget.path}: the file uses pickle persistent ids, which this format never does")

    # -- checks run before the standard handler of an opcode ------------------------------------

    def _check_setitem(self) -> None:
        if len(self.stack) >= 2:
            check_key(self.budget, self.stack[-2])

    def _check_mark_keys(self) -> None:  # SETITEMS, DICT: key, value, key, value... since the MARK
        self.budget.spend_work(len(self.stack))
        self.budget.spend_objects(_ENTRY_BYTES * len(self.stack) // 2)
        for key in self.stack[0::2]:
            check_key(self.budget, key)

    def _check_mark_items(self) -> None:  # ADDITEMS, FROZENSET
        self.budget.spend_work(len(self.stack))
        self.budget.spend_objects(_ENTRY_BYTES * len(self.stack))
        for item in self.stack:
            check_key(self.budget, item)

    def _check_args(self, args: Any) -> None:
        if type(args) is not tuple or len(args) > MAX_CALL_ARGS:
            raise self.budget.fail(f"the pickle calls something with {describe(args)} as its arguments "
                                   f"(a tuple of at most {MAX_CALL_ARGS} is expected)")
        self.budget.spend_work(len(args))

    def _check_reduce(self) -> None:
        if self.stack:
            self._check_args(self.stack[-1])

    def _check_class(self, cls: Any) -> None:
        if not (isinstance(cls, type) and cls in self._classes):
            raise self._unsafe(f"{self.budget.path}: the pickle creates an object of {describe(cls)} directly, "
                               f"which a state dict never does")

    def _check_newobj(self) -> None:
        if len(self.stack) >= 2:
            self._check_args(self.stack[-1])
            self._check_class(self.stack[-2])

    def _check_newobj_ex(self) -> None:
        if len(self.stack) >= 3:
            kwargs = self.stack[-1]
            if not (type(kwargs) is dict and not kwargs):
                raise self._unsafe(f"{self.budget.path}: the pickle passes keyword arguments to a constructor")
            self._check_args(self.stack[-2])
            self._check_class(self.stack[-3])

    def _check_build(self) -> None:
        if len(self.stack) < 2:
            return
        inst, state = self.stack[-2], self.stack[-1]
        if type(inst) not in self._buildable:
            raise self._unsafe(f"{self.budget.path}: the pickle sets the state of {describe(inst)}, "
                               f"which a state dict never does")
        if isinstance(state, (dict, list, tuple)):
            self.budget.spend_work(len(state))

    # -- opcodes whose standard handler would trust a number from the file ----------------------

    def _memo_index(self) -> int:
        line = self.readline()[:-1]
        if not (line.isdigit() and len(line) <= 10 and int(line) < 1 << 32):
            raise self.budget.fail(f"a pickle memo index is {describe(line)}, not an integer below 2**32")
        return int(line)

    def _load_put(self) -> None:
        self.memo[self._memo_index()] = self.stack[-1]

    def _load_get(self) -> None:
        index = self._memo_index()
        if index not in self.memo:
            raise pickle.UnpicklingError(f"memo value not found at index {index}")
        self.append(self.memo[index])

    def _load_bytearray8(self) -> None:
        (size,) = struct.unpack("<Q", self.read(8))
        if size > self.budget.size:
            raise self.budget.fail(f"a bytearray claims {size} bytes, more than the whole file holds")
        self.budget.spend_memory(size, f"a bytearray of {size} bytes")
        data = bytearray(size)
        self.readinto(data)
        self.append(data)


class _Dispatch(dict):
    def __missing__(self, code: int) -> Any:
        raise pickle.UnpicklingError(f"unknown pickle opcode 0x{code:02x}")


def _step(handler: Callable[[Any], None], check: Callable[[Any], None] | None, cost: int) -> Callable[[Any], None]:
    def step(self: RestrictedUnpickler) -> None:
        self.budget.spend_work(1)
        if check is not None:
            check(self)
        start = self.file.pos
        handler(self)
        self.budget.spend_objects(cost + self.file.pos - start)
    return step


_CHECKS = {
    pickle.SETITEM: RestrictedUnpickler._check_setitem,
    pickle.SETITEMS: RestrictedUnpickler._check_mark_keys,
    pickle.DICT: RestrictedUnpickler._check_mark_keys,
    pickle.ADDITEMS: RestrictedUnpickler._check_mark_items,
    pickle.FROZENSET: RestrictedUnpickler._check_mark_items,
    pickle.REDUCE: RestrictedUnpickler._check_reduce,
    pickle.NEWOBJ: RestrictedUnpickler._check_newobj,
    pickle.NEWOBJ_EX: RestrictedUnpickler._check_newobj_ex,
    pickle.BUILD: RestrictedUnpickler._check_build,
}
_OVERRIDES = {
    pickle.PUT: RestrictedUnpickler._load_put,
    pickle.GET: RestrictedUnpickler._load_get,
    pickle.BYTEARRAY8: RestrictedUnpickler._load_bytearray8,
}
RestrictedUnpickler.dispatch = _Dispatch({
    code: _step(_OVERRIDES.get(bytes([code]), handler), _CHECKS.get(bytes([code])), _OP_BYTES.get(bytes([code]), 64))
    for code, handler in pickle._Unpickler.dispatch.items()
})


def materialise(value: Any, convert: Mapping[type, Callable[[Any], Any]], budget: Budget,
                mapping: type = dict) -> Any:
    """A copy of an unpickled structure with each stand-in replaced by `convert[type](stand-in)`.

    Dicts become `mapping`. A part the file shares (memo reuse) is converted once and stays
    shared; but the structure's size as a tree, which is what a caller walking it pays, may not
    exceed the work budget (a few bytes of memo reuse can make it exponential). Nesting deeper
    than MAX_DEPTH, or a structure containing itself, is refused.
    """
    done: dict[int, tuple[Any, int]] = {}  # id -> (converted, size as a tree)
    active: set[int] = set()

    def walk(item: Any, depth: int) -> tuple[Any, int]:
        budget.spend_work(1)
        kind = type(item)
        if kind not in convert and not isinstance(item, (dict, list, tuple)):
            return item, 1
        key = id(item)
        if key in done:
            return done[key]
        if kind in convert:
            done[key] = convert[kind](item), 1
            return done[key]
        if depth >= MAX_DEPTH:
            raise budget.fail(f"its structure nests deeper than {MAX_DEPTH} levels; a state dict never does")
        if key in active:
            raise budget.fail("its structure contains itself; a state dict never does")
        active.add(key)
        size = 1
        if isinstance(item, dict):
            pairs = []
            for k, v in item.items():
                converted, n = walk(v, depth + 1)
                pairs.append((k, converted))
                size += n
            out: Any = mapping(pairs)
        else:
            items = []
            for v in item:
                converted, n = walk(v, depth + 1)
                items.append(converted)
                size += n
            out = tuple(items) if isinstance(item, tuple) else items
        if size > budget.work_limit:
            raise budget.fail(f"its structure reuses shared parts until it holds {size} items as a tree, more than "
                              f"a file of {budget.size} bytes can describe ({budget.work_limit}); corrupt or hostile")
        active.discard(key)
        done[key] = out, size
        return done[key]

    return walk(value, 0)[0]
