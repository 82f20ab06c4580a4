"""Content fingerprints for run identity: files by every byte, Python modules by their code.

- `file_digest(path)`: sha256 of every byte of a file (weights, videos);
- `path_fingerprint(path)`: a file, or a folder's files (names and digests; dot-files left out);
- `code_digest(path)`: a Python file's syntax tree with comments, docstrings and layout left out,
  so a comment edit is not a code change;
- `module_code(starts, stop=...)`: {module: code digest} of `starts` and every module they import
  (at any depth, also inside functions) within their own top-level packages, read from source
  without importing anything; modules under `stop` are neither included nor followed.

Each digest is cached by the file's (path, size, mtime, ctime, inode, device) in omnibench's one
SQLite store (`fingerprints.sqlite` in the cache directory): a rerun reads no byte again, and a
file whose content changed under a restored mtime still misses (restoring an mtime sets ctime).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import sys
import threading
from pathlib import Path

from omnibench.cache import SqliteStore, cache_dir

CHUNK = 1 << 20
_store: SqliteStore | None = None
_store_lock = threading.Lock()
_memo: dict[str, str] = {}          # this process's lookups: the same key, the same file content


def _cache() -> SqliteStore:
    global _store
    with _store_lock:
        path = cache_dir() / "fingerprints.sqlite"
        if _store is None or _store.path != path:      # the cache directory may change ($OMNIBENCH_CACHE)
            if _store is not None:
                _store.close()
            _store = SqliteStore(path, "fingerprints")
        return _store


def _cached(kind: str, path: Path, compute) -> str:
    st = os.stat(path)
    key = f"{kind}:{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"
    found = _memo.get(key)
    if found is None:
        found = _cache().get(key)
        if not isinstance(found, str):
            found = compute(path)
            _cache().put(key, found)
        _memo[key] = found
    return found


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: str | Path) -> str:
    """sha256 of every byte of the file (cached by stat, see the module docstring)."""
    return _cached("bytes", Path(path), _sha256_file)


def path_fingerprint(path: str | Path) -> str:
    """A checkpoint file or folder: relative names and byte digests of every file (dot-files left out)."""
    path = Path(path)
    if not path.is_dir():
        return hashlib.sha256(f"{path.name}:{file_digest(path)}".encode()).hexdigest()[:16]
    files = sorted(p for p in path.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path).as_posix()}:{file_digest(file)}\n".encode())
    return digest.hexdigest()[:16]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _code_of(path: Path) -> str:
    source = path.read_bytes()
    try:
        tree = _without_docstrings(ast.parse(source, filename=str(path)))
    except (SyntaxError, ValueError):         # not Python we can parse: its bytes are its code
        return hashlib.sha256(source).hexdigest()
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def code_digest(path: str | Path) -> str:
    """The file's code: its syntax tree without comments, docstrings or layout (cached by stat)."""
    return _cached("code", Path(path), _code_of)[:16]


# -- modules, found from source without importing them ------------------------------------------

def _package_dirs(name: str) -> list[Path]:
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__path__", None):
        return [Path(p) for p in module.__path__]
    found = module_file(name)
    return [found.parent] if found is not None and found.name == "__init__.py" else []


def module_file(name: str) -> Path | None:
    """The source file of module `name`, without importing it (None: not found, or not Python source)."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None) if module is not None else None
    if file:
        return Path(file) if file.endswith(".py") else None
    parent, _, last = name.rpartition(".")
    if parent and not _package_dirs(parent) and module_file(parent) is not None:
        return None                      # `from module import name`: an attribute, not a module
    for folder in _package_dirs(parent) if parent else []:
        for candidate in (folder / f"{last}.py", folder / last / "__init__.py"):
            if candidate.is_file():
                return candidate
    import importlib.util

    try:   # a package mapped elsewhere (omnibench.models lives in models/): its finder knows; parents get imported
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _imported(path: Path, name: str) -> frozenset[str]:
    """Module names `path` (module `name`) imports anywhere in its code; `from a import b` gives a.b and a."""
    st = os.stat(path)      # parsed once a process per file version: every task of a run asks for the same code
    return _imports_of(str(path), name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@functools.lru_cache(maxsize=4096)
def _imports_of(file: str, name: str, *version: int) -> frozenset[str]:
    path = Path(file)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return frozenset()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return frozenset(n for n in out if n)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_code(starts: list[str], stop: tuple[str, ...] = ()) -> dict[str, str]:
    """{module: code digest} of `starts` and what they import within their top-level packages."""
    tops = {s.split(".")[0] for s in starts}
    out: dict[str, str] = {}
    todo = [s for s in starts if not _under(s, stop)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None:
            continue
        out[name] = code_digest(path)
        # a top-level package's own __init__ (omnibench's version string) is not code the starts run
        todo += [n for n in _imported(path, name)
                 if n.split(".")[0] in tops and "." in n and not _under(n, stop) and n not in seen]
    return dict(sorted(out.items()))
