"""Static checks of the code's structure (issue 12), read with :mod:`ast`; nothing is run.

- no function over 100 lines (one whose body is a single literal table is exempt);
- a command module (``add_subcommand``, named in ``cli.COMMANDS``) imports no other command
  module (``commands/options.py`` is a helper, not a command);
- no import cycle, counting lazy imports inside functions and ``TYPE_CHECKING`` imports;
- imports point down the layers (a module imports its own layer or a lower one only):
  cli -> commands -> batch -> pipeline -> validation -> outputs, form -> clinical,
  genotype -> contracts -> files -> errors, paths, __init__;
- no module imports another module's private (``_name``) names or uses them as attributes;
- the workflow's rules stay thin: ``workflow/rules/*.smk`` under 200 lines together, no
  ``def`` or ``class``;
- ``batch/`` and ``pipeline.py`` do not use argparse;
- every module is named in the README's code table and in docs/contracts.md's module map.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "pgx_report"
MAX_FUNCTION_LINES = 100
MAX_RULE_LINES = 200

# Highest layer first; a module may import its own layer or any layer after it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("commands",),
    ("batch",),
    ("pipeline",),
    ("validation",),
    ("outputs", "form"),
    ("clinical", "genotype"),
    ("contracts",),
    ("files",),
    ("errors", "paths", "__init__"),
)


@dataclass(frozen=True)
class Import:
    """One import statement's target module, as seen from ``module``."""

    module: str  # importer, dotted
    target: str  # imported module, dotted (a package's __init__ is the package name)
    names: tuple[str, ...]  # names taken with ``from target import ...`` (not modules)
    line: int


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {_dotted(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), str(modules()[name]))


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if _is_package(module) else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: str) -> Iterator[Import]:
    """Every import of ``module`` inside the package: top level, inside functions, under
    ``TYPE_CHECKING``; ``from pkg import mod`` counts as an import of ``pkg.mod``."""
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules():
                    yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source not in modules():
                continue
            names = []
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules():
                    yield Import(module, sub, (), node.lineno)
                else:
                    names.append(alias.name)
            if names:
                yield Import(module, source, tuple(names), node.lineno)


def layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for rank, members in enumerate(LAYERS):
        if top in members:
            return rank
    raise AssertionError(f"{module}: in no layer of LAYERS (add it there and to the docs)")


def _where(item: Import) -> str:
    return f"{modules()[item.module].relative_to(REPO)}:{item.line}"


# --------------------------------------------------------------------------- functions


def _is_literal_table(node: ast.AST) -> bool:
    """A literal (constants, containers of literals, names of constants)."""
    if isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.Dict):
        return all(_is_literal_table(v) for v in [*node.keys, *node.values] if v is not None)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return all(_is_literal_table(v) for v in node.elts)
    return False


def _is_table_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    if len(body) != 1:
        return False
    value = getattr(body[0], "value", None)
    return isinstance(body[0], ast.Return | ast.Assign | ast.AnnAssign) and (
        value is not None and _is_literal_table(value)
    )


def test_no_function_over_100_lines() -> None:
    long = []
    for name, path in modules().items():
        for node in ast.walk(tree(name)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and not _is_table_function(node):
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines})")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_table_exemption_is_only_for_literal_tables() -> None:
    table = ast.parse("def f():\n    'doc'\n    return {'a': (1, 2), 'b': [None, X]}\n").body[0]
    code = ast.parse("def f():\n    return {'a': g()}\n").body[0]
    assert isinstance(table, ast.FunctionDef) and isinstance(code, ast.FunctionDef)
    assert _is_table_function(table) and not _is_table_function(code)


# --------------------------------------------------------------------------- commands


def command_modules() -> set[str]:
    from pgx_report import cli

    found = {
        name
        for name in modules()
        if name.startswith("pgx_report.commands.")
        and any(
            isinstance(node, ast.FunctionDef) and node.name == "add_subcommand"
            for node in tree(name).body
        )
    }
    assert found == {f"pgx_report.commands.{c}" for c in cli.COMMANDS}, (
        "modules with add_subcommand and cli.COMMANDS differ"
    )
    return found


def test_no_command_module_imports_another() -> None:
    commands = command_modules()
    assert "pgx_report.commands.options" not in commands
    bad = [
        f"{_where(item)} imports {item.target}"
        for name in modules()
        if name.startswith("pgx_report.commands.")
        for item in imports(name)
        if item.target in commands and item.target != name
    ]
    assert not bad, bad


# --------------------------------------------------------------------------- imports


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for name in modules():
        for item in imports(name):
            if item.target != name:
                graph[name].add(item.target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as the list of its modules, first repeated), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_imports_point_down_the_layers() -> None:
    up = [
        f"{_where(item)} imports {item.target} (a higher layer)"
        for name in modules()
        for item in imports(name)
        if layer(item.target) < layer(name)
    ]
    assert not up, up


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_of_another_module() -> None:
    bad = []
    for name in modules():
        aliases: dict[str, str] = {}  # local name -> imported module
        for item in imports(name):
            if item.target == name:
                continue
            bad += [
                f"{_where(item)} imports {n} from {item.target}" for n in item.names if _private(n)
            ]
            if any(_private(part) for part in item.target.split(".")):
                bad.append(f"{_where(item)} imports the private module {item.target}")
        for node in ast.walk(tree(name)):
            if isinstance(node, ast.ImportFrom) and _absolute(name, node) in modules():
                for alias in node.names:
                    sub = f"{_absolute(name, node)}.{alias.name}"
                    if sub in modules():
                        aliases[alias.asname or alias.name] = sub
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in modules():
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree(name)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
            ):
                bad.append(f"{modules()[name].relative_to(REPO)}:{node.lineno} uses {node.attr}")
    assert not bad, bad


def test_batch_and_pipeline_do_not_use_argparse() -> None:
    bad = []
    for name in modules():
        if not (name.startswith("pgx_report.batch") or name == "pgx_report.pipeline"):
            continue
        for node in ast.walk(tree(name)):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found = [node.module or ""]
            else:
                continue
            if any(f == "argparse" or f.startswith("argparse.") for f in found):
                bad.append(f"{modules()[name].relative_to(REPO)}:{node.lineno}")
    assert not bad, bad


# --------------------------------------------------------------------------- workflow


def test_workflow_rules_are_thin() -> None:
    rules = sorted((REPO / "workflow" / "rules").glob("*.smk"))
    assert rules
    texts = {path.name: path.read_text(encoding="utf-8") for path in rules}
    total = sum(len(text.splitlines()) for text in texts.values())
    assert total < MAX_RULE_LINES, f"workflow/rules/*.smk: {total} lines"
    code = [
        f"{name}:{number}"
        for name, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        if re.match(r"\s*(async\s+)?(def|class)\s", line)
    ]
    assert not code, f"def/class in the rules (put it in pgx_report): {code}"


# --------------------------------------------------------------------------- docs


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def listed_modules(rows: list[str]) -> set[str]:
    """The package-relative paths of the modules a markdown table names: a path in
    backticks (``files/io.py`` or ``pgx_report/files/io.py``), or a bare file name in a
    row that names its folder (``outputs/fhir/``) or another module of that folder."""
    found: set[str] = set()
    for row in rows:
        tokens = [t.removeprefix("pgx_report/") for t in re.findall(r"`([^`]+)`", row)]
        folders = {t for t in tokens if t.endswith("/")}
        folders |= {t.rsplit("/", 1)[0] + "/" for t in tokens if "/" in t and t.endswith(".py")}
        for token in tokens:
            if not token.endswith(".py"):
                continue
            if "/" in token:
                found.add(token)
            else:
                found |= {folder + token for folder in folders} | {token}
    return found


def _module_paths() -> set[str]:
    return {
        str(path.relative_to(PACKAGE)) for path in modules().values() if path.name != "__init__.py"
    }


@pytest.mark.parametrize(
    ("doc", "heading"),
    [("README.md", "| step | code | documentation |"), ("docs/contracts.md", "## Module map")],
)
def test_every_module_is_in_the_docs(doc: str, heading: str) -> None:
    text = (REPO / doc).read_text(encoding="utf-8")
    assert heading in text, f"{doc}: no {heading!r}"
    rows = _table_rows(text[text.index(heading) :].split("\n## ", 1)[0])
    missing = sorted(_module_paths() - listed_modules(rows))
    assert not missing, f"{doc}: modules not in the table: {missing}"
