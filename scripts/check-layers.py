#!/usr/bin/env python3
"""Import circles, upward imports, AppState outside the top layers, and long files (issue 23).

An edge is a path in non-test code that names another file's module: `use crate::…`,
`use super::…`, `use self::…` (nested groups included) and inline `crate::…` / `super::…` paths.
A module's own `mod` declarations and its `pub use` re-exports of its children do not count.
Code under `#[cfg(test)]` is left out. A circle is a strongly connected group of two or more
files; every circle is printed with the edges that make it.

    scripts/check-layers.py [--max N] [--max-lines L] SRC_DIR...
    scripts/check-layers.py --layers a,b,c --state-in a,b [--state-name AppState] SRC_DIR

Exits 1 when the files in circles, over all SRC_DIRs, number more than N (default 0), or when a
file's non-test code (everything before its first `#[cfg(test)]` module) passes L lines (default
600) unless its opening lines say why (`Long by design:`). With `--layers` (top to bottom; a
file's layer is its first folder under SRC_DIR, files at the top of SRC_DIR sit below every
layer) an edge from a layer to one above it fails, and so does naming `--state-name` in the
non-test code of a layer not in `--state-in` (those layers may all import the file that defines it). `--self-test` plants each fault in a scratch crate
and checks that it is found (and that a clean crate passes).
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+((?:crate|super|self)\b[^;]*);", re.S)
INLINE = re.compile(r"(?<![\w:])((?:crate|super)(?:::\w+)+)")


def module_path(src: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "mod", "main"):
        parts.pop()
    return tuple(parts)


def strip_tests(text: str) -> str:
    """The text without comments, strings and `#[cfg(test)]` items (their braces matched)."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"', '""', text)
    out, i = [], 0
    for match in re.finditer(r"#\[cfg\(test\)\]", text):
        if match.start() < i:
            continue
        out.append(text[i : match.start()])
        j = text.find("{", match.end())
        semi = text.find(";", match.end())
        if j == -1 or (semi != -1 and semi < j):
            i = semi + 1
            continue
        depth = 0
        for k in range(j, len(text)):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            if depth == 0:
                i = k + 1
                break
        else:
            i = len(text)
    out.append(text[i:])
    return "".join(out)


def expand(tree: str) -> list[list[str]]:
    """`crate::a::{b, c::{d, e}}` as paths: [[crate, a, b], [crate, a, c, d], …]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    paths: list[list[str]] = []

    def walk(prefix: list[str], rest: str) -> None:
        if "{" not in rest:
            paths.append(prefix + [p for p in rest.split("::") if p])
            return
        head, _, body = rest.partition("{")
        body = body[: body.rfind("}")]
        base = prefix + [p for p in head.split("::") if p]
        depth, start = 0, 0
        for n, ch in enumerate(body + ","):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                part = body[start:n]
                if part:
                    walk(base, part)
                start = n + 1

    walk([], tree)
    return paths


def resolve(here: tuple[str, ...], path: list[str], modules: dict) -> tuple[str, ...] | None:
    """The module file a path names: the longest prefix of it that is a module."""
    parts = list(here)
    rest = list(path)
    if rest and rest[0] == "crate":
        parts, rest = [], rest[1:]
    while rest and rest[0] in ("super", "self"):
        if rest.pop(0) == "super":
            parts = parts[:-1]
    full = parts + [p for p in rest if p not in ("self", "*")]
    for end in range(len(full), -1, -1):
        if tuple(full[:end]) in modules:
            return tuple(full[:end])
    return None


def inline_modules(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each inline `mod name { … }` in `text`."""
    found = []
    for match in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
        depth = 0
        for k in range(match.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            if depth == 0:
                found.append((match.start(), k, match.group(1)))
                break
    return found


def within(here: tuple[str, ...], inline: list, at: int) -> tuple[str, ...]:
    """The module a position of the file is in: the file's, and the inline modules around it."""
    return here + tuple(name for start, end, name in inline if start < at < end)


def edges_of(src: Path) -> dict[tuple[str, ...], dict[tuple[str, ...], str]]:
    files = [f for f in sorted(src.rglob("*.rs")) if f.name != "main.rs" or f.parent != src]
    modules = {module_path(src, f): f for f in files}
    graph: dict = {m: {} for m in modules}
    for here, file in modules.items():
        text = strip_tests(file.read_text())
        inline = inline_modules(text)
        for match in USE.finditer(text):
            re_export = match.group(1) is not None
            scope = within(here, inline, match.start())
            for path in expand(match.group(2)):
                target = resolve(scope, path, modules)
                if target is None or target == here:
                    continue
                child = target[: len(here)] == here and len(target) > len(here)
                if re_export and child:
                    continue
                graph[here].setdefault(target, f"use {'::'.join(path)}")
        blanked = USE.sub(lambda m: " " * len(m.group(0)), text)
        for match in INLINE.finditer(blanked):
            scope = within(here, inline, match.start())
            target = resolve(scope, match.group(1).split("::"), modules)
            if target is not None and target != here:
                graph[here].setdefault(target, match.group(1))
    return graph


def circles(graph: dict) -> list[list[tuple[str, ...]]]:
    """Strongly connected groups of two or more modules (Tarjan)."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    on: set = set()
    found: list = []
    counter = [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            connect(v)
    return found


def name(src: Path, module: tuple[str, ...]) -> str:
    return f"{src}/{'/'.join(module) or 'lib'}"


def check(sources: list[Path]) -> int:
    total = 0
    for src in sources:
        graph = edges_of(src)
        for group in circles(graph):
            total += len(group)
            print(f"circle of {len(group)} in {src}:")
            members = set(group)
            for module in group:
                for target, how in sorted(graph[module].items()):
                    if target in members:
                        print(f"  {name(src, module)} -> {name(src, target)}  ({how})")
    return total


LONG_REASON = "Long by design:"


def long_files(src: Path, max_lines: int) -> int:
    """Files whose code before their test module passes `max_lines`, with no reason given."""
    found = 0
    for file in sorted(src.rglob("*.rs")):
        text = file.read_text()
        code = re.split(r"\n#\[cfg\(test\)\]\n(?:pub(?:\([^)]*\))? )?mod \w+", text, maxsplit=1)[0]
        lines = code.count("\n") + 1
        opening = "\n".join(text.splitlines()[:15])
        if lines > max_lines and LONG_REASON not in opening:
            print(f"{file}: {lines} lines of non-test code (at most {max_lines}, or say why "
                  f"in its first lines with '{LONG_REASON} …')")
            found += 1
    return found


def layer_of(module: tuple[str, ...], layers: list[str]) -> int:
    """A module's place from the top (0); files at the top of src sit below every layer."""
    return layers.index(module[0]) if module and module[0] in layers else len(layers)


def layering(src: Path, layers: list[str], state_name: str, state_in: list[str]) -> int:
    """Edges that point up a layer, and `state_name` named below the layers allowed it."""
    faults = 0
    graph = edges_of(src)
    defines = re.compile(rf"\bpub struct {re.escape(state_name)}\b")
    shared = {module_path(src, f) for f in src.rglob("*.rs") if defines.search(f.read_text())}
    for module, targets in sorted(graph.items()):
        if not module:
            continue
        for target, how in sorted(targets.items()):
            # The layers allowed the state share the file that defines it, wherever it is.
            if target in shared and module[0] in state_in:
                continue
            if target and layer_of(target, layers) < layer_of(module, layers):
                print(f"upward: {name(src, module)} -> {name(src, target)}  ({how})")
                faults += 1
    pattern = re.compile(rf"\b{re.escape(state_name)}\b")
    for file in sorted(src.rglob("*.rs")):
        module = module_path(src, file)
        if not module or module[0] in state_in:
            continue
        if pattern.search(strip_tests(file.read_text())):
            print(f"{file}: names {state_name}, which only {', '.join(state_in)} may")
            faults += 1
    return faults


def self_test() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        src = Path(scratch) / "src"
        (src / "live").mkdir(parents=True)
        (src / "lib.rs").write_text("pub mod a;\npub mod b;\npub mod live;\n")
        (src / "live" / "mod.rs").write_text("pub mod hub;\npub use hub::Hub;\n")
        (src / "live" / "hub.rs").write_text("use super::super::a;\npub struct Hub;\n")
        (src / "b.rs").write_text(
            "pub fn b() { crate::live::Hub; }\nmod inner { use super::b; }\npub mod own {}\n"
        )
        (src / "a.rs").write_text(
            "use crate::b;\n#[cfg(test)]\nmod tests { use crate::live::hub; }\npub fn a() {}\n"
        )
        clean = check([src])
        if clean != 0:
            print(f"self-test: a clean crate reported {clean} files in circles")
            return 1
        # a -> b -> live/hub -> a, through an inline path, a re-export and a nested group.
        (src / "a.rs").write_text("use crate::{b::{self}, live::{hub::{Hub}}};\npub fn a() {}\n")
        planted = check([src])
        if planted != 2:
            print(f"self-test: the planted circle a <-> live/hub gave {planted} files, not 2")
            return 1
        (src / "a.rs").write_text("pub fn a() {}\n")
        (src / "b.rs").write_text("pub fn b() {}\n")
        layers = ["top", "live"]
        (src / "top").mkdir()
        (src / "top" / "mod.rs").write_text("pub struct AppState;\nuse crate::live::Hub;\n")
        if layering(src, layers, "AppState", ["top"]) != 0:
            print("self-test: a clean layering was refused")
            return 1
        (src / "live" / "hub.rs").write_text("use crate::top::AppState;\npub struct Hub;\n")
        if layering(src, layers, "AppState", ["top"]) != 2:
            print("self-test: live naming the top layer's AppState was not found twice")
            return 1
        if long_files(src, 5) != 0:
            print("self-test: a short file was refused")
            return 1
        (src / "b.rs").write_text("fn b() {}\n" * 4 + "#[cfg(test)]\nmod tests {\n" + "\n" * 9 + "}\n")
        (src / "a.rs").write_text("//! Long by design: one table.\n" + "fn a() {}\n" * 9)
        (src / "c.rs").write_text("fn c() {}\n" * 9)
        if long_files(src, 5) != 1:
            print("self-test: a long file without a reason was not the only one found")
            return 1
    print("self-test: ok (clean crates pass; a circle, an upward edge, AppState below and a "
          "long file are found)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=0)
    parser.add_argument("--max-lines", type=int, default=600)
    parser.add_argument("--layers", type=lambda s: s.split(","), default=None)
    parser.add_argument("--state-name", default="AppState")
    parser.add_argument("--state-in", type=lambda s: s.split(","), default=[])
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("sources", nargs="*", type=Path)
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if args.layers:
        faults = sum(layering(src, args.layers, args.state_name, args.state_in)
                     for src in args.sources)
        print(f"{faults} upward imports or {args.state_name} below {', '.join(args.state_in)} "
              f"(layers, top first: {' > '.join(args.layers)} > the files at the top)")
        return 1 if faults else 0
    total = check(args.sources)
    print(f"{total} files in import circles (allowed: {args.max})")
    long = sum(long_files(src, args.max_lines) for src in args.sources)
    print(f"{long} files past {args.max_lines} lines of non-test code without a reason")
    return 1 if total > args.max or long else 0


if __name__ == "__main__":
    sys.exit(main())
