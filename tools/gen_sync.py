"""Generate ``natskv.sync`` from the async API: ``src/natskv/sync/_api.py`` is this script's output.

natskv's I/O core is an ``asyncio.Protocol`` (the parser is fed from ``data_received``,
replies resolve futures there, watchers are driven by loop callbacks), so the async code
cannot be made I/O-agnostic the way psycopg 3's is without writing the client twice. The
sync API is therefore a facade over a private event-loop thread (one per sync connection,
see ``natskv/sync/_portal.py``), and this script writes that facade from the async source so
nothing is kept by hand: every public method, property and overload of the classes in
``SPEC`` gets a sync twin with the same name, parameters, defaults, docstring and types,
``AsyncIterator`` becoming ``Iterator`` and the async classes their sync twins.

    python tools/gen_sync.py          # write src/natskv/sync/_api.py
    python tools/gen_sync.py --check  # exit 1 if the file is not what the source gives (CI)

How a member is rendered:

- ``async def`` -> ``def`` that runs the coroutine on the connection's loop thread and
  waits for it; an ``async def`` with ``yield`` (an async generator) and a ``def`` that
  returns an async iterator -> ``def`` returning a sync iterator that pulls each item
  from the loop thread and closes the async one when it is left, however it is left.
- ``__aenter__``/``__aexit__`` -> ``__enter__``/``__exit__``; ``__aiter__``/``__anext__``
  -> ``__iter__``/``__next__``.
- a result whose type is one of the wrapped classes is wrapped; an argument whose type is
  one is unwrapped.
- properties and annotated public attributes -> read-only properties.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import importlib
import inspect
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "natskv" / "sync" / "_api.py"


@dataclass(frozen=True)
class ClassSpec:
    path: str  # module:Class of the async class
    constructible: bool = False  # users build it themselves (JetStream(nc), KVContext(js))
    exclude: frozenset[str] = field(default_factory=frozenset)  # async-only members
    doc: str = ""  # a sentence added to the class docstring
    release: str | None = None  # async method that frees what a dropped twin holds
    closing: frozenset[str] = frozenset()  # after these, the connection's loop thread stops


# The async classes with a sync twin. Low-level members (frames without waiting, reply
# futures, listener hooks) stay async-only: they exist for the hot paths of the async API.
SPEC = [
    ClassSpec(
        "natskv.client._connection:Connection",
        exclude=frozenset(
            {
                "add_disconnect_listener",
                "lowlevel",
                "add_reconnect_listener",
                "await_reply",
                "cancel_reply",
                "open_reply_stream",
                "publish_many",
                "publish_nowait",
                "request_future",
                "request_nowait",
                "status",  # an async iterator; the sync API has the callbacks
                "subscribe_nowait",
                "wait_closed",
            }
        ),
        closing=frozenset({"close", "drain", "__aexit__"}),
    ),
    # not released when dropped: a callback subscription lives on without its object
    ClassSpec("natskv.client._subscription:Subscription"),
    ClassSpec(
        "natskv.jetstream._context:JetStream",
        constructible=True,
        exclude=frozenset({"ordered_consumer", "api_request", "decode_reply"}),
    ),
    ClassSpec("natskv.kv._context:KVContext", constructible=True),
    ClassSpec("natskv.kv._store:KVStore", exclude=frozenset({"put_nowait"})),
    ClassSpec("natskv.kv._watch:KVWatcher", release="stop"),
    ClassSpec("natskv.kv._scan:KVScan", release="aclose"),
]
FUNCTIONS = ["natskv.client._connect:connect"]

ASYNC_TO_SYNC_TYPES = {
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncGenerator": "Iterator",  # AsyncGenerator[X, None] -> Iterator[X]
}
# what the docstrings say about using the async API, said for the sync one
DOC_REWRITES = [
    ("async with await ", "with "),
    ("async with ", "with "),
    ("async for ", "for "),
    ("await ", ""),
    ("contextlib.aclosing", "contextlib.closing"),
    ("StopAsyncIteration", "StopIteration"),
    ("``__aenter__``", "``__enter__``"),
]
DUNDERS = {
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",  # the sync name of closing an iterator
}


def _load(path: str) -> tuple[ModuleType, Any]:
    mod_name, _, attr = path.partition(":")
    module = importlib.import_module(mod_name)
    return module, getattr(module, attr)


class _Sources:
    """Module ASTs, and where each name a module uses comes from."""

    def __init__(self) -> None:
        self._trees: dict[str, ast.Module] = {}

    def tree(self, module: ModuleType) -> ast.Module:
        name = module.__name__
        if name not in self._trees:
            self._trees[name] = ast.parse(inspect.getsource(module))
        return self._trees[name]

    def class_def(self, cls: type) -> ast.ClassDef:
        module = sys.modules[cls.__module__]
        for node in ast.walk(self.tree(module)):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
                return node
        raise LookupError(f"no class {cls.__name__} in {module.__name__}")

    def origin(self, module: ModuleType, name: str) -> str | None:
        """The module a name used in ``module`` should be imported from."""
        for node in ast.walk(self.tree(module)):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return f"{node.module}:{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return f"{alias.name}:"
        if name in vars(module):
            return f"{module.__name__}:{name}"
        return None


@dataclass
class _Member:
    name: str
    defs: list[ast.FunctionDef | ast.AsyncFunctionDef]  # overloads first, then the real one
    module: ModuleType


@dataclass
class _Attr:
    name: str
    annotation: ast.expr
    module: ModuleType
    doc: str | None


class Generator:
    def __init__(self) -> None:
        self.src = _Sources()
        self.wrapped = {_load(s.path)[1].__name__ for s in SPEC}
        self.typevars: set[str] = set()
        self.seen: set[str] = set()  # names imported for run time
        self.runtime_imports: dict[str, set[str]] = {}
        self.typing_imports: dict[str, set[str]] = {}
        self.out: list[str] = []

    # ------------------------------------------------------------------ imports

    def _need(self, module: ModuleType, expr: ast.AST, *, runtime: bool) -> None:
        for node in ast.walk(expr):
            if not isinstance(node, ast.Name):
                continue
            name = node.id
            if name in self.wrapped or name in ASYNC_TO_SYNC_TYPES.values():
                continue
            if name in ASYNC_TO_SYNC_TYPES or hasattr(builtins, name):
                continue
            if isinstance(getattr(module, name, None), TypeVar):
                self.typevars.add(name)  # defined again in the generated module
                continue
            if name in self.seen:
                continue  # one import per name (natskv.Msg is re-exported by two packages)
            origin = self.src.origin(module, name)
            if origin is None:
                raise LookupError(f"{module.__name__}: cannot tell where {name!r} comes from")
            mod, _, attr = origin.partition(":")
            target = self.runtime_imports if runtime else self.typing_imports
            if not attr:  # `import os`: the module itself is the name
                target.setdefault("", set()).add(mod)
                continue
            target.setdefault(mod, set()).add(attr)
            if runtime:
                self.seen.add(name)

    # ------------------------------------------------------------------ types

    def _sync_type(self, expr: ast.expr | None) -> ast.expr | None:
        if expr is None:
            return None

        class T(ast.NodeTransformer):
            def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
                self.generic_visit(node)
                is_gen = isinstance(node.value, ast.Name) and node.value.id == "AsyncGenerator"
                if is_gen and isinstance(node.slice, ast.Tuple):
                    node.slice = node.slice.elts[0]  # AsyncGenerator[X, None] -> Iterator[X]
                if isinstance(node.value, ast.Name) and node.value.id == "Awaitable":
                    return node.slice
                return node

            def visit_Name(self, node: ast.Name) -> ast.AST:
                if node.id in ASYNC_TO_SYNC_TYPES:
                    return ast.Name(ASYNC_TO_SYNC_TYPES[node.id], ast.Load())
                return node

        return T().visit(ast.parse(ast.unparse(expr), mode="eval").body)

    def _top_name(self, expr: ast.expr | None) -> str | None:
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        if isinstance(expr, ast.Name):
            return expr.id
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return self._top_name(ast.parse(expr.value, mode="eval").body)
        return None

    # ------------------------------------------------------------------ members

    def _members(self, cls: type, spec: ClassSpec) -> tuple[list[_Member], list[_Attr]]:
        members: dict[str, _Member] = {}
        attrs: dict[str, _Attr] = {}
        for base in cls.__mro__:
            if not base.__module__.startswith("natskv"):
                continue
            module = sys.modules[base.__module__]
            node = self.src.class_def(base)
            body = node.body
            for i, item in enumerate(body):
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = item.name
                    public = not name.startswith("_") or name in DUNDERS or name == "__init__"
                    if not public or name in spec.exclude:
                        continue
                    if name == "__init__":
                        attrs.update(
                            (a.name, a)
                            for a in self._init_attrs(item, module, spec.exclude)
                            if a.name not in attrs
                        )
                        if not spec.constructible:
                            continue
                    if name in members and members[name].module is not module:
                        continue  # a subclass defines it
                    members.setdefault(name, _Member(name, [], module)).defs.append(item)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    name = item.target.id
                    if name.startswith("_") or name in spec.exclude or name in attrs:
                        continue
                    if self._is_classvar(item.annotation):
                        continue
                    doc = _attr_doc(body, i)
                    attrs[name] = _Attr(name, item.annotation, module, doc)
        return list(members.values()), list(attrs.values())

    @staticmethod
    def _is_classvar(expr: ast.expr) -> bool:
        top = expr.value if isinstance(expr, ast.Subscript) else expr
        return isinstance(top, ast.Name) and top.id == "ClassVar"

    def _init_attrs(
        self,
        init: ast.FunctionDef | ast.AsyncFunctionDef,
        module: ModuleType,
        exclude: frozenset[str],
    ) -> list[_Attr]:
        found = []
        body = init.body
        for i, stmt in enumerate(body):
            target = None
            if isinstance(stmt, ast.AnnAssign):
                target = stmt.target
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and not target.attr.startswith("_")
                and target.attr not in exclude
            ):
                continue
            if not isinstance(stmt, ast.AnnAssign):
                # the type of a public attribute must be written down to be mirrored exactly
                ann = _param_annotation(init, stmt.value)  # type: ignore[union-attr]
                if ann is None:
                    raise TypeError(
                        f"{module.__name__}: annotate the public attribute self.{target.attr}"
                    )
            else:
                ann = stmt.annotation
            found.append(_Attr(target.attr, ann, module, _attr_doc(body, i)))
        return found

    # ------------------------------------------------------------------ rendering

    def _emit(self, line: str = "", indent: int = 0) -> None:
        self.out.append(("    " * indent + line) if line else "")

    def _doc(self, doc: str | None, indent: int) -> None:
        if not doc:
            return
        doc = inspect.cleandoc(doc)
        for old, new in DOC_REWRITES:
            doc = doc.replace(old, new)
        text = textwrap.indent(doc, "    " * indent).lstrip()
        quote = '"""'
        if "\\" in doc:
            quote = 'r"""'
        if "\n" in doc:
            self._emit(f'{quote}{text}\n{"    " * indent}"""', indent)
        else:
            self._emit(f'{quote}{text}"""', indent)

    def _signature(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleType
    ) -> tuple[str, ast.arguments]:
        args = fn.args
        new = ast.arguments(
            posonlyargs=[self._arg(a, module) for a in args.posonlyargs],
            args=[self._arg(a, module) for a in args.args],
            vararg=self._arg(args.vararg, module) if args.vararg else None,
            kwonlyargs=[self._arg(a, module) for a in args.kwonlyargs],
            kw_defaults=list(args.kw_defaults),
            kwarg=self._arg(args.kwarg, module) if args.kwarg else None,
            defaults=list(args.defaults),
        )
        for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self._need(module, d, runtime=True)
        return ast.unparse(new), args

    def _arg(self, a: ast.arg, module: ModuleType) -> ast.arg:
        ann = self._sync_type(a.annotation)
        if ann is not None:
            self._need(module, ann, runtime=False)
        return ast.arg(a.arg, ann)

    @staticmethod
    def _call_args(args: ast.arguments, wrapped: set[str]) -> str:
        def val(a: ast.arg) -> str:
            name = a.arg
            top = a.annotation
            tops = {n.id for n in ast.walk(top) if isinstance(n, ast.Name)} if top else set()
            if tops & wrapped:
                return f"_unwrap({name})"
            return name

        parts = [val(a) for a in [*args.posonlyargs, *args.args][1:]]  # without self
        if args.vararg:
            parts.append(f"*{args.vararg.arg}")
        parts += [f"{a.arg}={val(a)}" for a in args.kwonlyargs]
        if args.kwarg:
            parts.append(f"**{args.kwarg.arg}")
        return ", ".join(parts)

    def _decorators(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
        names = []
        for d in fn.decorator_list:
            text = ast.unparse(d)
            if text in ("overload", "typing.overload", "staticmethod", "property"):
                names.append(text)
        return names

    def _is_async_gen(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        if not isinstance(fn, ast.AsyncFunctionDef):
            return False
        return any(isinstance(node, ast.Yield | ast.YieldFrom) for node in ast.walk(fn))

    def _render_member(self, member: _Member, cls_name: str, spec: ClassSpec) -> None:
        real = member.defs[-1]
        overloads = member.defs[:-1]
        name = DUNDERS.get(member.name, member.name)
        decorators = self._decorators(real)
        if "property" in decorators:
            ret = self._sync_type(real.returns)
            self._need(member.module, ret, runtime=False)
            self._emit("@property", 1)
            self._emit(f"def {name}(self) -> {ast.unparse(ret)}:", 1)
            self._doc(ast.get_docstring(real, clean=False), 2)
            top = self._top_name(real.returns)
            if top in self.wrapped:
                self._emit(f"return {top}._wrap(self._portal, self._async.{member.name})", 2)
            else:
                self._emit(f"return self._async.{member.name}", 2)
            self._emit()
            return
        static = "staticmethod" in decorators
        for ov in overloads:
            sig, _ = self._signature(ov, member.module)
            ret = self._sync_type(ov.returns)
            if ret is not None:
                self._need(member.module, ret, runtime=False)
            self._emit("@overload", 1)
            if static:
                self._emit("@staticmethod", 1)
            self._emit(f"def {name}({sig}) -> {ast.unparse(ret)}: ...", 1)
        sig, args = self._signature(real, member.module)
        ret = self._sync_type(real.returns)
        if ret is not None:
            self._need(member.module, ret, runtime=False)
        if static:
            self._emit("@staticmethod", 1)
        self._emit(f"def {name}({sig}) -> {ast.unparse(ret) if ret else 'None'}:", 1)
        self._doc(ast.get_docstring(real, clean=False), 2)
        if member.name == "__init__":
            self._render_init(real, args, cls_name)
            self._emit()
            return
        call_args = self._call_args(args, self.wrapped) if not static else ""
        target = f"self._async.{member.name}({call_args})"
        top = self._top_name(real.returns)
        async_iter = self._is_async_gen(real) or top in ("AsyncIterator", "AsyncGenerator")
        if static:
            static_args = ", ".join(
                [a.arg for a in [*args.posonlyargs, *args.args]]
                + [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
            )
            self._emit(f"return _a.{cls_name}.{member.name}({static_args})", 2)
        elif member.name == "__aiter__":
            self._emit("return self", 2)
        elif member.name == "__anext__":
            self._emit("return self._portal.next(self._async)", 2)
        elif member.name == "__aenter__":
            self._emit(f"self._portal.call({target})", 2)
            self._emit("return self", 2)
        elif member.name in spec.closing:
            self._emit("try:", 2)
            self._emit(f"    {self._wrap_result(f'self._portal.call({target})', top)}", 2)
            self._emit("finally:", 2)
            self._emit("    self._portal.stop()", 2)
        elif member.name == "__aexit__":
            self._emit(f"self._portal.call({target})", 2)
        elif async_iter:
            self._emit(f"return self._portal.iterate(lambda: {target})", 2)
        elif isinstance(real, ast.AsyncFunctionDef) and self._has_plan(cls_name, member.name):
            # one request and a pure finish: sent from this thread (Portal.request); a
            # plan of None, or no responders, is the general path on the loop thread
            plan = f"self._async._plan_{member.name}({call_args})"
            self._emit(f"plan = {plan}", 2)
            self._emit("if plan is not None:", 2)
            self._emit("    result = self._portal.request(self._async.js.nc, plan)", 2)
            self._emit("    if result is not FALLBACK:", 2)
            self._emit("        return result", 2)
            self._emit(self._wrap_result(f"self._portal.call({target})", top, cls_name), 2)
        elif isinstance(real, ast.AsyncFunctionDef):
            self._emit(self._wrap_result(f"self._portal.call({target})", top, cls_name), 2)
        else:
            self._emit(self._wrap_result(f"self._portal.run(lambda: {target})", top, cls_name), 2)
        self._emit()

    def _has_plan(self, cls_name: str, name: str) -> bool:
        """Whether the async class offers ``_plan_<name>``: the request and finish of a call."""
        spec = next(s for s in SPEC if s.path.endswith(f":{cls_name}"))
        return hasattr(_load(spec.path)[1], f"_plan_{name}")

    def _wrap_result(self, expr: str, top: str | None, cls_name: str = "") -> str:
        if top == cls_name:  # start() and the like return the object itself
            return f"return self._same({expr})"
        if top in self.wrapped:
            return f"return {top}._wrap(self._portal, {expr})"
        return f"return {expr}"

    def _render_init(
        self, real: ast.FunctionDef | ast.AsyncFunctionDef, args: ast.arguments, cls_name: str
    ) -> None:
        # the portal comes from the first wrapped argument (JetStream(nc), KVContext(js))
        first = [*args.posonlyargs, *args.args][1]
        call = self._call_args(args, self.wrapped)
        self._emit(f"self._portal = {first.arg}._portal", 2)
        self._emit(f"self._async = self._portal.run(lambda: _a.{cls_name}({call}))", 2)

    def render_class(self, spec: ClassSpec) -> None:
        module, cls = _load(spec.path)
        node = self.src.class_def(cls)
        members, attrs = self._members(cls, spec)
        bases = [ast.unparse(b) for b in node.bases if ast.unparse(b).startswith("Generic")]
        for b in node.bases:
            if ast.unparse(b).startswith("Generic"):
                self._need(module, b, runtime=True)
        head = f"class {cls.__name__}({', '.join(bases)}):" if bases else f"class {cls.__name__}:"
        self._emit(head)
        doc = ast.get_docstring(node, clean=False) or ""
        if spec.doc:
            doc = inspect.cleandoc(doc) + "\n\n" + spec.doc
        self._doc(doc, 1)
        self._emit()
        params = bases[0][len("Generic[") : -1] if bases else ""
        self._emit("_async: _a." + cls.__name__ + (f"[{params}]" if params else ""), 1)
        self._emit("_portal: Portal", 1)
        self._emit()
        self._emit("@classmethod", 1)
        own = f"{cls.__name__}{'[Any]' if bases else ''}"
        self._emit(f"def _wrap(cls, portal: Portal, obj: Any) -> {own}:", 1)
        self._emit("self = object.__new__(cls)", 2)
        self._emit("self._portal = portal", 2)
        self._emit("self._async = obj", 2)
        self._emit("return self", 2)
        self._emit()
        self._emit(f"def _same(self, obj: Any) -> {own}:", 1)
        self._emit(
            f"return self if obj is self._async else {cls.__name__}._wrap(self._portal, obj)", 2
        )
        self._emit()
        if spec.release:
            self._emit("def __del__(self) -> None:", 1)
            self._emit("portal = getattr(self, '_portal', None)", 2)
            self._emit("if portal is not None:", 2)
            self._emit(f"    portal.release(self._async, {spec.release!r})", 2)
            self._emit()
        for attr in attrs:
            ann = self._sync_type(attr.annotation)
            self._need(attr.module, ann, runtime=False)
            self._emit("@property", 1)
            self._emit(f"def {attr.name}(self) -> {ast.unparse(ann)}:", 1)
            self._doc(attr.doc, 2)
            top = self._top_name(attr.annotation)
            if top in self.wrapped:
                self._emit(f"return {top}._wrap(self._portal, self._async.{attr.name})", 2)
            else:
                self._emit(f"return self._async.{attr.name}", 2)
            self._emit()
        for member in members:
            self._render_member(member, cls.__name__, spec)
        self.out[-1:] = [] if self.out and self.out[-1] == "" else self.out[-1:]
        self._emit()
        self._emit()

    def render_function(self, path: str) -> None:
        module, fn_obj = _load(path)
        tree = self.src.tree(module)
        fn = next(
            n
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == fn_obj.__name__
        )
        sig, args = self._signature(fn, module)
        ret = self._sync_type(fn.returns)
        self._need(module, ret, runtime=False)
        self._emit(f"def {fn.name}({sig}) -> {ast.unparse(ret)}:")
        self._doc(ast.get_docstring(fn, clean=False), 1)
        parts = [a.arg for a in [*args.posonlyargs, *args.args]]
        if args.vararg:
            parts.append(f"*{args.vararg.arg}")
        parts += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
        if args.kwarg:
            parts.append(f"**{args.kwarg.arg}")
        top = self._top_name(fn.returns)
        self._emit("portal = Portal()", 1)
        self._emit("try:", 1)
        self._emit(f"    conn = portal.call(_a.{fn.name}({', '.join(parts)}))", 1)
        self._emit("except BaseException:", 1)
        self._emit("    portal.stop()", 1)
        self._emit("    raise", 1)
        self._emit(f"return {top}._wrap(portal, conn)", 1)
        self._emit()
        self._emit()

    def generate(self) -> str:
        body_start = len(self.out)
        for spec in SPEC:
            self.render_class(spec)
        for fn in FUNCTIONS:
            self.render_function(fn)
        body = self.out[body_start:]
        self.out = []
        head = [
            '"""The synchronous natskv API (generated by tools/gen_sync.py from the async source:',
            "do not edit; run `python tools/gen_sync.py` after changing the async API).",
            "",
            "Each class wraps its async twin and runs it on the connection's private event-loop",
            "thread (``natskv.sync._portal``); names, parameters, types and docstrings are the",
            "async API's.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
        ]
        runtime = dict(self.runtime_imports)
        runtime.setdefault("typing", set()).update({"TYPE_CHECKING", "Any", "overload"})
        if self.typevars:
            runtime["typing"].add("TypeVar")
        runtime.setdefault("collections.abc", set())
        typing_only: dict[str, set[str]] = {}
        taken = set().union(*runtime.values())
        for m in sorted(self.typing_imports):
            names = self.typing_imports[m] - taken
            typing_only[m] = names
            taken |= names
        typing_only.setdefault("collections.abc", set()).update({"Iterator", "Iterable"})
        lines = []
        lines.append("import natskv as _a")
        lines.extend(f"import {m}" for m in sorted(runtime.pop("", set())))
        for mod in sorted(runtime):
            names = sorted(runtime[mod])
            if names:
                lines.append(f"from {mod} import {', '.join(names)}")
        lines.append("from natskv.sync._portal import FALLBACK, Portal, _unwrap")
        lines.append("")
        lines.append("if TYPE_CHECKING:")
        lines.extend(f"    import {m}" for m in sorted(typing_only.pop("", set())))
        for mod in sorted(typing_only):
            names = sorted(typing_only[mod])
            if names:
                lines.append(f"    from {mod} import {', '.join(names)}")
        lines.append("")
        all_names = [_load(s.path)[1].__name__ for s in SPEC] + [
            _load(f)[1].__name__ for f in FUNCTIONS
        ]
        lines.append(f"__all__ = {sorted(all_names)!r}")
        lines.append("")
        for tv in sorted(self.typevars):
            lines.append(f'{tv} = TypeVar("{tv}")')
        lines.append("")
        lines.append("")
        return "\n".join(head + lines + body) + "\n"


def _attr_doc(body: list[ast.stmt], i: int) -> str | None:
    nxt = body[i + 1] if i + 1 < len(body) else None
    if (
        isinstance(nxt, ast.Expr)
        and isinstance(nxt.value, ast.Constant)
        and isinstance(nxt.value.value, str)
    ):
        return nxt.value.value
    return None


def _param_annotation(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, value: ast.expr | None
) -> ast.expr | None:
    """The annotation of ``self.x = x`` where ``x`` is an annotated parameter."""
    if isinstance(value, ast.Constant) and type(value.value) in (int, float, str, bool):
        return ast.Name(type(value.value).__name__, ast.Load())
    if not isinstance(value, ast.Name):
        return None
    for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]:
        if a.arg == value.id:
            return a.annotation
    return None


def _format(source: str) -> str:
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(OUTPUT), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    fixed = subprocess.run(
        [str(ruff), "check", "--fix-only", "--quiet", "--stdin-filename", str(OUTPUT), "-"],
        input=result.stdout,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(OUTPUT), "-"],
        input=fixed.stdout,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    opts = parser.parse_args(argv)
    source = _format(Generator().generate())
    current = OUTPUT.read_text() if OUTPUT.exists() else ""
    if opts.check:
        if current != source:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                source.splitlines(keepends=True),
                str(OUTPUT.relative_to(ROOT)),
                "generated",
            )
            sys.stdout.writelines(diff)
            print(f"\n{OUTPUT.relative_to(ROOT)} is stale: run python tools/gen_sync.py")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(source)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
