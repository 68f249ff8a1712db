"""The release check: is what we would upload to PyPI complete, and does it work from the wheel alone?

    ./run release                      # every check on every Python 3.11-3.14 found on this machine
    python release/check.py --python 3.11 --skip-lowest

1. Builds the sdist, then the wheel from the sdist (`uv build`), and checks them as publishers do:
   `twine check --strict`, `check-wheel-contents`, the license file in both, the changelog in the sdist,
   the metadata (classifiers, URLs), the README as PyPI shows it (absolute links to files that exist,
   the MCP registry's `mcp-name` line), and that every distribution the package imports is declared in
   the extra whose code imports it.
2. On each Python found (3.11 to 3.14; an absent one is skipped, said so): a fresh venv per extra with the
   wheel alone (core, sandbox, langchain, agents, mcp, all) and release/smoke.py in it.
3. Type completeness: `pyright --verifytypes osvi_integrations --ignoreexternal` must score 100%.
4. The floors: per extra, `uv pip install --resolution lowest-direct` with the wheel's own requirements
   as the direct ones (the lowest versions the metadata allows), then the unit tests (core, langchain)
   or the smoke test (agents, mcp) against them.

Its tools (the `release` dependency group: uv, twine, check-wheel-contents, pyright) go into
.venv-release, made on first use. Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".venv-release"
DISTRIBUTION = "osvi-integrations"
PACKAGE = "osvi_integrations"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
EXTRAS = ("", "sandbox", "langchain", "agents", "mcp", "all")
#: Which extra a module's imports belong to (the longest matching prefix wins); the rest is the core.
MODULE_EXTRAS = {
    f"{PACKAGE}.sandbox": ("sandbox",),
    f"{PACKAGE}.demo": ("sandbox",),
    f"{PACKAGE}.langchain": ("langchain",),
    f"{PACKAGE}.langchain.middleware": ("langchain", "agents"),
    f"{PACKAGE}.mcp_server": ("mcp",),
}
#: The floors: (name, extras installed at their lowest, what runs against them).
#: (The unit tests need the sandbox, which tests/conftest.py imports; the LangChain ones need the middleware;
#: test_packaging.py reads the checkout's README, which this check verifies in the built wheel instead.)
UNIT_TESTS = ["tests/unit_tests", "--ignore=tests/unit_tests/test_packaging.py"]
FLOOR_SETS = (
    ("core", ("sandbox",), [*UNIT_TESTS, "--ignore=tests/unit_tests/langchain"]),
    ("langchain", ("langchain",), None),
    ("agents", ("agents", "sandbox"), UNIT_TESTS),
    ("mcp", ("mcp",), None),
)
#: The dev tools the unit tests need (their versions: the `dev` group's), installed after the floors.
TEST_TOOLS = (
    "pytest", "pytest-asyncio", "pytest-timeout", "pytest-socket", "pytest-xdist", "httpx", "jsonschema", "pyyaml",
    "hypothesis",
)  # fmt: skip
TEST_TOOLS_LANGCHAIN = ("langchain-tests",)

failures: list[str] = []
passed: list[str] = []


# -- plumbing ----------------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"release: {message}", flush=True)


def ok(what: str) -> None:
    passed.append(what)
    say(f"ok   {what}")


def fail(what: str, detail: str = "") -> None:
    failures.append(what)
    say(f"FAIL {what}" + (f"\n{detail.rstrip()}" if detail else ""))


def run(
    command: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def checked(what: str, command: Sequence[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str] | None:
    """Runs a command; a non-zero exit is a failure named `what` (with the end of its output)."""
    started = time.monotonic()
    done = run(command, **kwargs)
    if done.returncode != 0:
        fail(what, (done.stdout + done.stderr)[-4000:])
        return None
    ok(f"{what} ({time.monotonic() - started:.0f}s)")
    return done


def tool(name: str) -> Path:
    return TOOLS / "bin" / name


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- tools -------------------------------------------------------------------------------------------------------


def ensure_tools() -> None:
    """Makes .venv-release with the `release` group (pyright[nodejs] where no Node.js is on PATH), then runs
    this script again with its Python, which has `packaging`."""
    python = TOOLS / "bin" / "python"
    stamp = TOOLS / ".installed-release"
    if not (stamp.exists() and stamp.stat().st_mtime >= (ROOT / "pyproject.toml").stat().st_mtime):
        say(f"installing the release tools into {TOOLS.name}")
        if not python.exists() and run([sys.executable, "-m", "venv", TOOLS]).returncode != 0:
            shutil.rmtree(TOOLS, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--user", "virtualenv"], check=True)
            subprocess.run([sys.executable, "-m", "virtualenv", "-q", TOOLS], check=True)
        group: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["release"]
        if shutil.which("node") is None:
            group = [re.sub(r"^pyright\b", "pyright[nodejs]", requirement) for requirement in group]
        pip: list[str | Path] = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        done = run([*pip, *group])
        if done.returncode != 0:
            sys.exit(f"release: could not install the release tools:\n{done.stdout}{done.stderr}")
        stamp.touch()
    if Path(sys.prefix).resolve() != TOOLS.resolve():
        os.execv(python, [str(python), __file__, *sys.argv[1:]])


# -- which Pythons -----------------------------------------------------------------------------------------------


def find_python(version: str) -> Path | None:
    """An interpreter of this minor version: on PATH, under pyenv, in /usr(/local)/bin, or one uv knows."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(str(pyenv / "versions" / f"{version}.*" / "bin" / f"python{version}")), reverse=True)
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    found = run([tool("uv"), "python", "find", "--no-project", version])
    candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for candidate in filter(None, candidates):
        if not Path(candidate).is_file():
            continue
        probe = run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], timeout=30)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return Path(candidate)
    return None


# -- the artifacts -----------------------------------------------------------------------------------------------


def build(out: Path) -> tuple[Path, Path] | None:
    """The sdist, and the wheel built from it (which proves the sdist is complete)."""
    if checked("build the sdist, then the wheel from it (uv build)", [tool("uv"), "build", "--out-dir", out], cwd=ROOT):
        sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
        if len(sdists) == 1 and len(wheels) == 1:
            return sdists[0], wheels[0]
        fail("build", f"expected one sdist and one wheel, found {[p.name for p in out.iterdir()]}")
    return None


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def check_artifacts(sdist: Path, wheel: Path) -> None:
    checked("twine check --strict (sdist and wheel)", [tool("twine"), "check", "--strict", sdist, wheel])
    checked("check-wheel-contents", [tool("check-wheel-contents"), wheel])

    with zipfile.ZipFile(wheel) as archive:
        wheel_files = set(archive.namelist())
    with tarfile.open(sdist) as archive:
        sdist_files = {name.partition("/")[2] for name in archive.getnames()}
    problems = []
    if not any(re.fullmatch(r"[^/]+\.dist-info/licenses/LICENSE", name) for name in wheel_files):
        problems.append("the wheel has no .dist-info/licenses/LICENSE")
    problems += [f"the wheel lacks {name}" for name in (f"{PACKAGE}/py.typed",) if name not in wheel_files]
    for name in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", f"{PACKAGE}/py.typed"):
        if name not in sdist_files:
            problems.append(f"the sdist lacks {name}")

    metadata = wheel_metadata(wheel)
    classifiers = set(metadata.get_all("Classifier") or [])
    expected = {"Typing :: Typed", *(f"Programming Language :: Python :: {v}" for v in PYTHONS[:3])}
    problems += [f"no classifier {c!r}" for c in sorted(expected - classifiers)]
    if metadata.get("License-Expression") != "MIT":
        problems.append(f"License-Expression is {metadata.get('License-Expression')!r}, not 'MIT'")
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    repository = urls.get("Repository", "")
    if not repository.startswith("https://"):
        problems.append(f"no Repository project URL ({urls})")
    problems += readme_problems(str(metadata.get_payload()), repository)
    for problem in problems:
        fail(f"package contents: {problem}")
    if not problems:
        ok("license in wheel and sdist, changelog, classifiers, URLs, README links and mcp-name line")


def readme_problems(readme: str, repository: str) -> list[str]:
    """The README as PyPI shows it: no relative link (they break there), and links into this repository
    point at files that exist in the checkout; the MCP registry's ownership line is there."""
    problems = []
    registry_name = json.loads((ROOT / "server.json").read_text())["name"]
    if f"mcp-name: {registry_name}" not in readme:
        problems.append(f"the README lacks the line 'mcp-name: {registry_name}' the MCP registry looks for")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r"""<img[^>]+src=["']([^"']+)""", readme)
    raw = repository.replace("https://github.com/", "https://raw.githubusercontent.com/")
    for target in targets:
        if target.startswith("#"):
            continue
        if not re.match(r"https?://", target):
            problems.append(f"relative README link {target!r} (broken on PyPI)")
            continue
        for prefix in (f"{repository}/blob/main/", f"{raw}/main/"):
            if target.startswith(prefix) and not (ROOT / target[len(prefix) :].partition("#")[0]).exists():
                problems.append(f"README link to a file that does not exist: {target}")
    return problems


def imported_distributions(wheel: Path) -> dict[str, set[str]]:
    """{top-level module imported at run time: the package's modules importing it}, from the wheel's source
    (imports under `if TYPE_CHECKING:` excluded, and relative and standard-library imports)."""
    imports: dict[str, set[str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py") or not name.startswith(f"{PACKAGE}/"):
                continue
            module = name[:-3].replace("/", ".").removesuffix(".__init__")
            collector = _Imports()
            collector.visit(ast.parse(archive.read(name)))
            for top in collector.tops:
                if top not in sys.stdlib_module_names and top not in (PACKAGE, "__future__"):
                    imports.setdefault(top, set()).add(module)
    return imports


class _Imports(ast.NodeVisitor):
    """The top-level names of absolute imports, skipping `if TYPE_CHECKING:` blocks (not run) and optional
    imports: a `try:` body whose `except ImportError` goes on without it (a handler that raises again makes
    the import required, and it is counted)."""

    def __init__(self) -> None:
        self.tops: set[str] = set()

    def visit_Try(self, node: ast.Try) -> None:
        optional = any(
            handler.type is not None
            and any(name in ast.unparse(handler.type) for name in ("ImportError", "ModuleNotFoundError"))
            and not any(isinstance(child, ast.Raise) for child in ast.walk(handler))
            for handler in node.handlers
        )
        body = [] if optional else node.body
        for statement in [*body, *node.handlers, *node.orelse, *node.finalbody]:
            self.visit(statement)

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.orelse:
                self.visit(statement)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.tops.update(alias.name.partition(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.tops.add(node.module.partition(".")[0])


def requirements(metadata: email.message.Message, extras: Iterable[str], python: str) -> list[str]:
    """The wheel's requirements for these extras on this Python (its own extras expanded), without markers."""
    from packaging.requirements import Requirement

    parsed = [Requirement(raw) for raw in metadata.get_all("Requires-Dist") or []]
    wanted = {"", *extras}
    while True:
        active = [
            r
            for r in parsed
            if r.marker is None or any(r.marker.evaluate({"extra": e, "python_version": python}) for e in wanted)
        ]
        more = {extra for r in active if normalize(r.name) == DISTRIBUTION for extra in r.extras} - wanted
        if not more:
            break
        wanted |= more
    found = set()
    for requirement in active:
        if normalize(requirement.name) != DISTRIBUTION:
            bare = Requirement(str(requirement))
            bare.marker = None
            found.add(str(bare))
    return sorted(found)


def check_declared_imports(wheel: Path, all_venv: Path, python: str) -> None:
    """Every distribution the package imports is a requirement of the core or of the extra whose code
    imports it; module names map to distributions with the [all] venv's importlib.metadata."""
    from packaging.requirements import Requirement

    probe = run(
        [
            all_venv / "bin" / "python",
            "-c",
            "import importlib.metadata as m, json; print(json.dumps(m.packages_distributions()))",
        ]
    )
    if probe.returncode != 0:
        fail("declared imports: could not read the installed distributions", probe.stderr)
        return
    owners: dict[str, list[str]] = json.loads(probe.stdout)
    metadata = wheel_metadata(wheel)
    declared = {
        extra: {normalize(Requirement(r).name) for r in requirements(metadata, [extra] if extra else [], python)}
        for extra in EXTRAS
    }
    problems = []
    for top, modules in sorted(imported_distributions(wheel).items()):
        distributions = {normalize(d) for d in owners.get(top, [])}
        if not distributions:
            problems.append(f"{top} (imported by {', '.join(sorted(modules))}) is installed by no extra")
            continue
        for module in sorted(modules):
            prefix = max((p for p in MODULE_EXTRAS if module == p or module.startswith(p + ".")), key=len, default="")
            extras = MODULE_EXTRAS.get(prefix, ("",))
            if not any(distributions & declared[extra] for extra in extras):
                where = " or ".join(f"[{e}]" for e in extras if e) or "the core dependencies"
                problems.append(f"{module} imports {top} ({'/'.join(sorted(distributions))}), not declared in {where}")
    for problem in problems:
        fail(f"declared imports: {problem}")
    if not problems:
        ok("every imported distribution is declared where it is imported")


# -- fresh venvs -------------------------------------------------------------------------------------------------


def new_venv(path: Path, python: Path) -> Path | None:
    shutil.rmtree(path, ignore_errors=True)
    done = run([tool("uv"), "venv", "--quiet", "--python", python, path])
    if done.returncode != 0:
        fail(f"uv venv {path.name}", done.stderr)
        return None
    return path / "bin" / "python"


def install(what: str, venv_python: Path, *arguments: str | Path) -> bool:
    command = [tool("uv"), "pip", "install", "--quiet", "--python", venv_python, *arguments]
    return checked(what, command) is not None


def smoke(label: str, venv_python: Path, extras: Sequence[str], workdir: Path) -> None:
    """release/smoke.py with the venv's Python, from a directory without the source tree."""
    script = ROOT / "release" / "smoke.py"
    command: list[str | Path] = [venv_python, script, "--extras", ",".join(extras), "--source-root", ROOT]
    started = time.monotonic()
    done = run(command, cwd=workdir, timeout=600)
    output = (done.stdout + done.stderr).rstrip()
    if done.returncode != 0:
        fail(f"smoke {label}", output[-6000:])
    else:
        ok(f"smoke {label} ({time.monotonic() - started:.0f}s)")


def per_extra(wheel: Path, python: Path, version: str, work: Path) -> Path | None:
    """A fresh venv per extra with the wheel alone, and its smoke test; returns the [all] venv."""
    all_venv = None
    for extra in EXTRAS:
        label = f"py{version} {DISTRIBUTION}{f'[{extra}]' if extra else ''}"
        venv = work / f"py{version}-{extra or 'core'}"
        venv_python = new_venv(venv, python)
        if venv_python is None:
            continue
        if install(f"install the wheel alone, {label}", venv_python, f"{wheel}[{extra}]" if extra else wheel):
            smoke(label, venv_python, [extra] if extra else [], work)
            if extra == "all":
                all_venv = venv
    return all_venv


def uvx(wheel: Path, python: Path, version: str) -> None:
    """As the MCP registry's server.json runs it: `uvx --from <wheel>[mcp] osvi-integrations`; and without
    the extra, the one line naming it."""
    base: list[str | Path] = [tool("uv"), "tool", "run", "--isolated", "--python", python, "--from"]
    done = run([*base, f"{wheel}[mcp]", "osvi-integrations", "--help"])
    if done.returncode != 0 or "usage:" not in done.stdout:
        fail(f"py{version} uvx --from {wheel.name}[mcp] osvi-integrations --help", done.stdout + done.stderr)
    else:
        ok(f"py{version} uvx --from {wheel.name}[mcp] osvi-integrations --help")
    done = run([*base, str(wheel), "osvi-mcp", "--help"])
    lines = done.stderr.strip().splitlines()
    if done.returncode != 1 or not lines or f'"{DISTRIBUTION}[mcp]"' not in lines[-1] or "Traceback" in done.stderr:
        fail(f"py{version} uvx --from {wheel.name} osvi-mcp --help (no mcp extra)", done.stdout + done.stderr)
    else:
        ok(f"py{version} uvx --from {wheel.name} osvi-mcp --help names the mcp extra")


def type_completeness(all_venv: Path, work: Path) -> None:
    """pyright --verifytypes on the installed package (not the source tree), public symbols only."""
    empty = work / "pyright-cwd"
    empty.mkdir(exist_ok=True)
    env = {"VIRTUAL_ENV": str(all_venv), "PATH": f"{all_venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    command: list[str | Path] = [tool("pyright"), "--verifytypes", PACKAGE, "--ignoreexternal", "--outputjson"]
    done = run(command, cwd=empty, env=env)
    try:
        report = json.loads(done.stdout)["typeCompleteness"]
    except (ValueError, KeyError):
        fail("pyright --verifytypes gave no report", (done.stdout + done.stderr)[-3000:])
        return
    score = report["completenessScore"]
    if score < 1.0:
        symbols = [
            f"  {symbol['name']}: {'; '.join(d['message'].splitlines()[0] for d in symbol.get('diagnostics', []))}"
            for symbol in report.get("symbols", [])
            if not symbol.get("isTypeKnown", True) or symbol.get("isTypeAmbiguous", False)
        ]
        fail(f"type completeness {score:.1%} (not 100%)", "\n".join(symbols[:60]))
    else:
        counts = report["exportedSymbolCounts"]
        ok(f"type completeness 100% ({counts['withKnownType']} exported symbols, pyright --verifytypes)")


def floors(wheel: Path, python: Path, version: str, work: Path) -> None:
    """Per extra, the lowest versions the metadata allows (the wheel's requirements made direct), then
    the unit tests or the smoke test against them."""
    metadata = wheel_metadata(wheel)
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    tests = work / "tests-copy"
    if not tests.exists():  # the tests and the contract they read, away from the source tree
        shutil.copytree(ROOT / "tests", tests / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "spec", tests / "spec")
        shutil.copy(ROOT / "pyproject.toml", tests / "pyproject.toml")  # the pytest settings
    for name, extras, unit_tests in FLOOR_SETS:
        label = f"py{version} lowest [{','.join(extras)}]"
        venv = work / f"py{version}-lowest-{name}"
        venv_python = new_venv(venv, python)
        if venv_python is None:
            continue
        direct = requirements(metadata, extras, version)
        lowest = ["--resolution", "lowest-direct", f"{wheel}[{','.join(extras)}]", *direct]
        if not install(f"install {label} (uv --resolution lowest-direct)", venv_python, *lowest):
            continue
        installed = installed_versions(venv_python)
        say(f"     {label}: " + ", ".join(f"{n} {installed.get(normalize(n), '?')}" for n in _names(direct)))
        if unit_tests is None:
            smoke(label, venv_python, extras, work)
            continue
        tools = TEST_TOOLS + (TEST_TOOLS_LANGCHAIN if {"langchain", "agents"} & set(extras) else ())
        wanted = [r for r in dev if normalize(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) in tools]
        pins = work / f"{venv.name}-pins.txt"
        pins.write_text("".join(f"{n}=={v}\n" for n, v in installed.items() if n != DISTRIBUTION))
        if not install(f"install the test tools, {label} kept", venv_python, "--constraint", pins, *wanted):
            continue
        command: list[str | Path] = [venv_python, "-m", "pytest", *unit_tests, "-q", "-n0", "-pno:cacheprovider"]
        done = checked(f"unit tests, {label}", command, cwd=tests)
        if done is not None:
            say(f"     {done.stdout.strip().splitlines()[-1]}")


def _names(requirements: Iterable[str]) -> list[str]:
    from packaging.requirements import Requirement

    return sorted({Requirement(r).name for r in requirements})


def installed_versions(venv_python: Path) -> dict[str, str]:
    done = run([tool("uv"), "pip", "list", "--python", venv_python, "--format", "json"])
    return {normalize(p["name"]): p["version"] for p in json.loads(done.stdout or "[]")}


# -- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", action="append", choices=PYTHONS, help="only these versions (repeatable)")
    parser.add_argument("--skip-lowest", action="store_true", help="skip the floors (lowest-direct) runs")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (its path is printed)")
    args = parser.parse_args()
    ensure_tools()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="osvi-release-"))
    try:
        built = build(work / "dist")
        if built is None:
            sys.exit("release: the build failed; nothing else to check")
        sdist, wheel = built
        check_artifacts(sdist, wheel)
        typed = False
        found = 0
        for version in args.python or PYTHONS:
            python = find_python(version)
            if python is None:
                say(f"SKIP Python {version}: no interpreter found (PATH, pyenv, /usr/bin, uv); install one to test it")
                continue
            found += 1
            say(f"Python {version}: {python}")
            all_venv = per_extra(wheel, python, version, work)
            uvx(wheel, python, version)
            if all_venv is not None and not typed:
                check_declared_imports(wheel, all_venv, version)
                type_completeness(all_venv, work)
                typed = True
            if not args.skip_lowest:
                floors(wheel, python, version, work)
        if found == 0:
            fail("no supported Python found")
    finally:
        if args.keep:
            say(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = f"{time.monotonic() - started:.0f}s"
    if failures:
        say(f"{len(failures)} check(s) failed in {elapsed}:\n" + "\n".join(f"  - {f}" for f in failures))
    print(f"release: {len(passed)} passed, {len(failures)} failed", flush=True)  # the closing line CI reads
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
