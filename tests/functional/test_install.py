"""A clean install as a user makes one: the wheel `python -m build` makes, installed with pip
(pinned by requirements.lock) into a fresh virtual environment and with pipx, its commands run
from outside the repository with no test tooling in reach. The dependencies are resolved once,
into a wheelhouse both installs use: two resolutions against the indexes took a minute more."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.broker import BrokerProcess, free_port
from tests.support.completion import completions
from tests.support.tui import Tui

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PACKAGES = ("score_broker", "score_tui")
TEST_TOOLING = ("pytest", "moto", "playwright")
RUNTIME = ("prometheus_client", "textual_serve", "argcomplete")
INSTALL_TIMEOUT = 600
POINTING_AT_THE_REPOSITORY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")


@dataclass
class Built:
    """The sdist and wheel of the working tree, the package files they must hold, and a
    directory of every wheel an install needs (resolved once from the indexes with the lock)."""

    sdist: Path
    wheel: Path
    package_files: set[str]
    wheelhouse: Path

    def pip_options(self) -> list[str]:
        """Install from the wheelhouse, without resolving again; byte-compiling every
        dependency is a third of an install's time, and imports compile anyway."""
        return ["--quiet", "--no-compile", "--no-index", "--find-links", str(self.wheelhouse),
                "-c", str(LOCK)]  # fmt: skip


def _outside_env() -> dict[str, str]:
    """The environment without anything that points Python at the repository."""
    return {k: v for k, v in os.environ.items() if k not in POINTING_AT_THE_REPOSITORY}


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd,
        env=env or _outside_env(), timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Build from a copy of the tracked files, so that the build leaves nothing in the tree."""
    source = tmp_path_factory.mktemp("source")
    tracked = _run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, tracked):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", dist, source, cwd=dist)
    wheel = next(dist.glob("*.whl"))
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    # pip too: pipx upgrades the pip of its shared environment with the same options.
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "-c", LOCK, "--wheel-dir", wheelhouse,
         wheel, "pip", cwd=dist)  # fmt: skip
    package_files = {name for name in tracked if name.startswith(tuple(f"{p}/" for p in PACKAGES))}
    return Built(next(dist.glob("*.tar.gz")), wheel, package_files, wheelhouse)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install -c requirements.lock <wheel>` in a fresh venv; its bin directory."""
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", venv, cwd=venv)
    _run(venv / "bin" / "python", "-m", "pip", "install", *built.pip_options(), built.wheel,
         cwd=venv)  # fmt: skip
    return venv / "bin"


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from a directory outside the repository, without PYTHONPATH pointing into it."""
    for name in POINTING_AT_THE_REPOSITORY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_wheel_and_sdist_hold_every_package_file_and_no_tests(built: Built) -> None:
    in_wheel = set(zipfile.ZipFile(built.wheel).namelist())
    assert "score_tui/app.tcss" in in_wheel
    assert {n for n in in_wheel if not n.startswith("score_transfer-")} == built.package_files
    with tarfile.open(built.sdist) as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert built.package_files <= in_sdist
    assert not any(name.startswith("tests/") for name in in_wheel | in_sdist)


def test_installed_commands_run_without_test_tooling(installed: Path, outside: Path) -> None:
    assert _run(installed / "score-tui", "--version", cwd=outside).startswith("score-tui ")
    assert _run(installed / "score-broker", "--version", cwd=outside).startswith("score-broker ")
    probe = "import importlib.util as u, sys; print(*filter(u.find_spec, sys.argv[1:]))"
    found = _run(installed / "python", "-c", probe, *TEST_TOOLING, *RUNTIME, cwd=outside).split()
    assert found == list(RUNTIME)
    assert completions(installed, "score-broker k", _outside_env()) == ["keys"]


def test_installed_broker_and_client_move_a_file(installed: Path, outside: Path) -> None:
    config = {
        "server": {"data_directory": str(outside / "data")},
        "storage": {"backend": "local", "local": {"directory": str(outside / "store")}},
        "song": {"url": "embedded"},
    }
    broker = BrokerProcess(config, outside / "broker", program=(str(installed / "score-broker"),))
    broker.start()
    try:
        config_file = broker.workdir / f"broker-{broker.port}.toml"
        token = _run(installed / "score-broker", "keys", "create", "--config", config_file,
                     "--scope", "score.WRITE", "--scope", "score.READ", "--scope", "song.WRITE",
                     cwd=outside).strip()  # fmt: skip
        (outside / "user").mkdir()
        tui = Tui(outside / "user", broker.url, token, program=(str(installed / "score-tui"),))
        data = os.urandom(70_000)
        (outside / "reads.vcf").write_bytes(data)

        status, summary = tui.json("upload", "--study", "INSTALL-CA", "--access", "open",
                                   "--publish", "--file", str(outside / "reads.vcf"))  # fmt: skip
        assert status == 0, summary["stderr"]
        analysis = next(f["file"] for f in summary["files"] if f["direction"] == "publish")
        fetched = tui.run("download", "--analysis-id", analysis, "--study-id", "INSTALL-CA",
                          "--output-dir", str(outside / "out"))  # fmt: skip
        assert fetched.returncode == 0, fetched.stderr
        copy = (outside / "out" / "reads.vcf").read_bytes()
        assert copy == data
        scraped = httpx.get(f"{broker.url}/metrics").text
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(scraped)
            for sample in family.samples
        }
        assert samples["score_broker_uploads_finalized_total"] == 1
        assert samples["score_broker_uploads_declared_bytes_total"] == len(data)
    finally:
        broker.stop()


def test_installed_tui_serves_the_browser_page(installed: Path, outside: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [installed / "score-tui", "--serve", "--port", str(port)], cwd=outside,
        env={**_outside_env(), "HOME": str(outside)}, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        first = server.stderr.readline()
        assert first.startswith(f"score-tui: open http://127.0.0.1:{port} in a browser"), first
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200
        assert "textual" in page.text.lower()
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_pipx_installs_both_commands(built: Built, tmp_path: Path) -> None:
    tools = tmp_path / "pipx-venv"
    _run(sys.executable, "-m", "venv", tools, cwd=tmp_path)
    _run(tools / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile", "pipx",
         cwd=tmp_path)  # fmt: skip
    env = {
        **_outside_env(),
        "PIPX_HOME": str(tmp_path / "pipx-home"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    pip_args = shlex.join(built.pip_options()[1:])  # pipx is quiet itself
    _run(tools / "bin" / "pipx", "install", f"--pip-args={pip_args}", built.wheel, cwd=tmp_path,
         env=env)  # fmt: skip
    assert _run(tmp_path / "bin" / "score-tui", "--version", cwd=tmp_path).startswith("score-tui")
    assert _run(tmp_path / "bin" / "score-broker", "--version", cwd=tmp_path).startswith(
        "score-broker"
    )
    # The README's completion for pipx: register-python-argcomplete from the app's venv.
    app_bin = tmp_path / "pipx-home" / "venvs" / "score-transfer" / "bin"
    assert completions(app_bin, "score-tui --batch up", _outside_env()) == ["upload"]
