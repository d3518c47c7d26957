"""How much of each provider module is a description rather than code.

``python -m evals.declarative_share`` prints, per connectors/providers/*.py module,
the share of its lines that are data. Counted lines are the non-blank lines of
top-level statements other than imports, minus comment-only lines and
docstrings. A line is *data* when it belongs to a top-level assignment
(``SPEC = ConnectorSpec(...)``, ``ERRORS = ErrorTable(...)``, ``FIELDS = {...}``,
lambdas inside them included); it is *code* when it belongs to a top-level
function or class body. A class whose body holds only field declarations and
a docstring (a frozen dataclass of settings) counts as data.
"""

from __future__ import annotations

import ast
import io
import json
import sys
import tokenize
from pathlib import Path

PROVIDERS = Path(__file__).resolve().parent.parent / "connectors" / "providers"


def _comment_or_blank(source: str) -> set[int]:
    """Line numbers that hold only a comment, or nothing."""
    lines = source.splitlines()
    empty = {n for n, text in enumerate(lines, 1) if not text.strip()}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and not lines[token.start[0] - 1][
                :token.start[1]].strip():
            empty.add(token.start[0])
    return empty


def _docstring_lines(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                found.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return found


def _only_fields(node: ast.ClassDef) -> bool:
    return all(isinstance(s, ast.AnnAssign | ast.Pass) or (
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in node.body)


def measure(path: Path) -> dict[str, int | float]:
    source = path.read_text()
    tree = ast.parse(source)
    skip = _comment_or_blank(source) | _docstring_lines(tree)
    data = code = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        lines = {n for n in range(start, (node.end_lineno or node.lineno) + 1) if n not in skip}
        is_data = isinstance(node, ast.Assign | ast.AnnAssign) or (
            isinstance(node, ast.ClassDef) and _only_fields(node))
        if is_data:
            data += len(lines)
        else:
            code += len(lines)
    total = data + code
    return {"data": data, "code": code, "share": round(data / total, 3) if total else 0.0}


def main() -> None:
    rows = {p.stem: measure(p) for p in sorted(PROVIDERS.glob("*.py"))
            if p.stem != "__init__"}
    if "--json" in sys.argv:
        print(json.dumps(rows))
        return
    print(f"{'provider':<14}{'data':>6}{'code':>6}{'share':>8}")
    for name, row in rows.items():
        print(f"{name:<14}{row['data']:>6}{row['code']:>6}{row['share']:>8.0%}")
    data = sum(int(r["data"]) for r in rows.values())
    code = sum(int(r["code"]) for r in rows.values())
    print(f"{'all':<14}{data:>6}{code:>6}{data / (data + code):>8.0%}")


if __name__ == "__main__":
    main()
