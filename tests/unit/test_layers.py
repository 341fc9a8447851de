"""The client's layers point one way: a module imports only its own layer and those below it,
and nothing below the terminal UI imports Textual."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "score_tui"
#: Lowest first. A part is a module or subpackage directly under score_tui.
LAYERS: list[set[str]] = [
    {"errors", "units", "index_names"},
    {"client"},
    {"engine"},
    {"config", "workspace"},
    {"planning", "slicing"},
    {"batch"},
    {"live_queue", "widgets", "screens", "app"},
    {"demo", "serve", "cli", "__main__", "__init__"},
]
BELOW_THE_UI = {"errors", "units", "index_names", "client", "engine", "config", "workspace"}
BELOW_THE_UI |= {"planning", "slicing", "batch"}


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def level(part: str) -> int:
    return next(number for number, layer in enumerate(LAYERS) if part in layer)


def imports(path: Path) -> set[str]:
    """Top-level names imported from, type-checking-only imports left out."""
    tree = ast.parse(path.read_text())
    guarded = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_part_has_a_layer() -> None:
    for path in sources():
        level(part_of(path))


def test_no_module_imports_a_layer_above_it() -> None:
    upward = []
    for path in sources():
        own = level(part_of(path))
        for module in imports(path):
            if module.startswith("score_tui."):
                target = module.split(".")[1]
                if level(target) > own:
                    upward.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert upward == []


def test_batch_and_the_ui_do_not_import_each_other() -> None:
    ui = LAYERS[6]
    crossing = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sources()
        if part_of(path) in ui
        for module in imports(path)
        if module.startswith("score_tui.batch")
    ]
    assert crossing == []


def test_nothing_below_the_ui_imports_textual() -> None:
    found = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sources()
        if part_of(path) in BELOW_THE_UI
        for module in imports(path)
        if module == "textual" or module.startswith("textual.")
    ]
    assert found == []


#: What the broker may import of the client: the pure index and planning code.
SHARED_WITH_THE_BROKER = {
    "score_tui.errors",
    "score_tui.index_names",
    "score_tui.slicing.bai",
    "score_tui.slicing.crai",
    "score_tui.slicing.plan",
    "score_tui.slicing.regions",
}


def test_the_broker_imports_only_pure_client_modules() -> None:
    broker = PACKAGE.parent / "score_broker"
    used = {
        module
        for path in sorted(broker.rglob("*.py"))
        for module in imports(path)
        if module.startswith("score_tui")
    }
    assert used <= SHARED_WITH_THE_BROKER
    for module in SHARED_WITH_THE_BROKER:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        outside = {
            name
            for name in imports(path)
            if name.startswith("score_tui") and name not in SHARED_WITH_THE_BROKER
        }
        assert outside == set(), module


BROKER = PACKAGE.parent / "score_broker"
#: The broker below its web layer: these never import the routes, the app or the commands.
BELOW_THE_ROUTES = ["services", "auth", "metadata", "storage", "song", "database", "metrics.py"]
ABOVE = ("score_broker.api", "score_broker.app", "score_broker.cli", "score_broker.workers")


def broker_modules(part: str) -> list[Path]:
    path = BROKER / part
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def test_the_broker_layers_point_one_way() -> None:
    modules = [path for part in BELOW_THE_ROUTES for path in broker_modules(part)]
    assert len(modules) > len(BELOW_THE_ROUTES)
    upward = [
        f"{path.relative_to(BROKER)} imports {module}"
        for path in modules
        for module in imports(path)
        if module.startswith(ABOVE)
    ]
    assert upward == []
    # Every layer counts its metrics, so the metrics module depends on no layer.
    assert not [m for m in imports(BROKER / "metrics.py") if m.startswith("score_broker")]
