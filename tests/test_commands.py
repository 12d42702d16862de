"""Every command a learner is shown runs from a fresh clone.

The commands are taken from the README and the notebooks:

- every line of a fenced code block (```) in the README or in a notebook's Markdown;
- inline code spans that start with ``python -m rtlib`` or ``make`` (in prose:
  a span with options is run as written; a bare ``python -m rtlib sub`` only names a
  subcommand, so it is run with ``--help``);
- ``!`` shell lines in notebook code cells.

They run in a copy of the files git tracks (what a clone holds: a file that is not
committed is missing, a path into ``../shared`` does not exist), with the course's
virtual environment on ``PATH``.  Notation is expanded the way a reader would:
``[--opt]`` runs without and with the option, ``a|b|c`` runs each choice, a ``\\``
line continues the command, ``# ...`` is a comment, ``TOKEN`` is the token that
``im-admin add-user`` printed for that ``--user``, and a fixed loopback port is
replaced by a free one.  A command that serves until stopped (``im-server``) runs in
the background for the rest of its block, and must be listening within 10 s.

Commands that cannot or should not run inside the test suite are listed in ``SKIP``
with the reason, and a test keeps that list from growing stale.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

# command prefix -> why it is not run here
SKIP = {
    "make lab": "starts JupyterLab and waits for a browser; the notebooks run headless in tests/test_notebooks.py",
    "make test": "is this test suite",
    "make test-fast": "is this test suite without the notebooks",
    "make bench": "runs the benchmarks for minutes, on demand (benchmarks/RESULTS.md)",
    "conda ": "conda is not part of the course's test environment; environment.yml is checked against "
              "pyproject.toml in tests/test_environment.py",
    "jupyter lab": "starts a server for a browser (the same as make lab)",
    "python -m rtlib call-demo": "serves a page for a browser until Ctrl-C; tests/signal/test_call_demo.py runs it "
                                 "with --seconds and checks what it serves",
}
SERVES = ("python -m rtlib im-server",)  # runs until stopped
TIMEOUT_S = 180
SHELL_START = re.compile(r"^(python -m rtlib|python |make |rtlib |conda |jupyter |tshark |pip )")


@dataclass
class Block:
    """Commands shown together (one fenced block, one inline span or one cell's ``!`` lines)."""

    source: str
    lines: list[str] = field(default_factory=list)
    inline: bool = False


# --- extraction ------------------------------------------------------------------------
def fenced_blocks(markdown: str) -> list[list[str]]:
    return [body.splitlines() for body in re.findall(r"```[^\n]*\n(.*?)```", markdown, flags=re.S)]


def join_lines(lines: list[str]) -> list[str]:
    """Drop comments and blank lines; join ``\\`` continuations."""
    out, cur = [], ""
    for raw in lines:
        line = re.sub(r"\s+#.*$", "", raw).rstrip()
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1].strip() + " "
            continue
        cur += line.strip()
        if cur:
            out.append(cur)
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def blocks_in_markdown(text: str, source: str) -> list[Block]:
    blocks = []
    for lines in fenced_blocks(text):
        cmds = [c for c in join_lines(lines) if SHELL_START.match(c)]
        if cmds:
            blocks.append(Block(source, cmds))
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        span = span.strip()
        if span.startswith(("python -m rtlib", "make ")) and "..." not in span:
            blocks.append(Block(source, [span], inline=True))
    return blocks


def collect() -> list[Block]:
    blocks = blocks_in_markdown((ROOT / "README.md").read_text(), "README.md")
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = str(path.relative_to(ROOT))
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                blocks += blocks_in_markdown(text, f"{rel} cell {i}")
            else:
                bangs = [ln.strip()[1:] for ln in text.splitlines() if ln.strip().startswith("!")]
                if bangs:
                    blocks.append(Block(f"{rel} cell {i}", join_lines(bangs)))
    return blocks


# --- expansion of the notation -----------------------------------------------------------
def expand(cmd: str) -> list[str]:
    """``[opt]`` -> without and with; ``a|b`` in a token -> each choice (one at a time)."""
    optional = re.findall(r"\[([^\]]+)\]", cmd)
    variants = [re.sub(r"\s*\[[^\]]+\]", "", cmd)]
    if optional:
        variants.append(re.sub(r"\[([^\]]+)\]", r"\1", cmd))
    out = []
    for v in variants:
        tokens = shlex.split(v)
        alts = [i for i, t in enumerate(tokens) if "|" in t]
        if not alts:
            out.append(v)
            continue
        # vary one alternated token at a time (the others at their first choice)
        base = [t.split("|")[0] if "|" in t else t for t in tokens]
        for i in alts:
            for choice in tokens[i].split("|"):
                out.append(shlex.join(base[:i] + [choice] + base[i + 1:]))
    return list(dict.fromkeys(out))


def skip_reason(cmd: str) -> str | None:
    for prefix, reason in SKIP.items():
        if cmd == prefix.strip() or cmd.startswith(prefix if prefix.endswith(" ") else prefix + " ") \
                or cmd == prefix:
            return reason
    return None


# --- running ---------------------------------------------------------------------------
def fresh_clone(dest: Path) -> Path:
    """Copy the files git tracks (their working-tree content) into ``dest``."""
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        names = [n for n in files.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: take everything but caches
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not {".git", ".venv", "__pycache__"} & set(p.parts)]
    for name in names:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def to_argv(cmd: str, clone: Path) -> list[str]:
    argv = shlex.split(cmd)
    if argv[0] == "python":
        argv[0] = sys.executable
    if argv[0] == "make":
        # Reuse the installed environment, and never let make reinstall the course into it
        # from the clone (-o: treat the install stamp as up to date whatever the mtimes).
        venv = Path(sys.executable).parent.parent
        argv += [f"VENV={venv}", "-o", f"{venv}/.installed"]
    return argv


def wait_listening(port: int, proc: subprocess.Popen, timeout_s: float = 10.0) -> bool:
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run_block(block: Block, clone: Path) -> list[str]:
    """Run every command of a block in ``clone``; return the failures."""
    failures, servers, tokens, ports = [], [], {}, {}
    try:
        for line in block.lines:
            if block.inline and line.startswith("python -m rtlib") and " -" not in line[len("python -m rtlib"):]:
                line += " --help"  # a subcommand's name in prose: it must exist
            if skip_reason(line):
                continue
            for cmd in expand(line):
                for fixed in re.findall(r"(?:--port |127\.0\.0\.1:)(\d{4,5})", cmd):
                    ports.setdefault(fixed, str(free_port()))
                for fixed, free in ports.items():
                    cmd = re.sub(rf"(--port |127\.0\.0\.1:){fixed}\b", rf"\g<1>{free}", cmd)
                user = re.search(r"--user (\S+)", cmd)
                if "TOKEN" in cmd:
                    if not user or user.group(1) not in tokens:
                        failures.append(f"{cmd}: no token was printed for this user earlier in the block")
                        continue
                    cmd = cmd.replace("TOKEN", tokens[user.group(1)])
                argv = to_argv(cmd, clone)
                if cmd.startswith(SERVES) and not cmd.endswith("--help"):
                    proc = subprocess.Popen(argv, cwd=clone, env=_env(), stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True)
                    servers.append(proc)
                    port = re.search(r"--port (\d+)", cmd)
                    if not port or not wait_listening(int(port.group(1)), proc):
                        out = proc.stdout.read() if proc.poll() is not None else "(still running, not listening)"
                        failures.append(f"{cmd}: did not start listening\n{out[-1500:]}")
                    continue
                try:
                    res = subprocess.run(argv, cwd=clone, env=_env(), capture_output=True, text=True,
                                         timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:
                    failures.append(f"{cmd}: still running after {TIMEOUT_S} s")
                    continue
                if res.returncode != 0:
                    failures.append(f"{cmd}: exit {res.returncode}\n{(res.stdout + res.stderr)[-1500:]}")
                for name, tok in re.findall(r"user (\S+) created; token \(shown once\): (\S+)", res.stdout):
                    tokens[name] = tok
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return failures


BLOCKS = collect()


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return fresh_clone(tmp_path_factory.mktemp("clone"))


def test_commands_were_found():
    sources = {b.source.split(" cell")[0] for b in BLOCKS}
    assert "README.md" in sources and any(s.startswith("notebooks/") for s in sources)
    assert sum(len(b.lines) for b in BLOCKS) >= 10


@pytest.mark.timeout(900)
@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b.source}: {b.lines[0][:50]}")
def test_shown_commands_run_from_a_fresh_clone(block, clone):
    assert run_block(block, clone) == []


def test_skip_list_is_still_needed():
    """Every skip reason matches a command that is really shown somewhere."""
    shown = [line for b in BLOCKS for line in b.lines]
    unused = [prefix for prefix in SKIP if not any(skip_reason(line) == SKIP[prefix] for line in shown)]
    assert unused == []


# --- the runner, shown failing on planted mistakes ----------------------------------------
def test_a_broken_path_fails(tmp_path):
    clone = fresh_clone(tmp_path)
    planted = Block("planted", ["python -m rtlib abr --trace ../shared/data/traces/ATT-LTE-driving-2016.down "
                                "--controller aimd --duration 5 --json"])
    failures = run_block(planted, clone)
    assert len(failures) == 1 and "exit 2" in failures[0]


def test_an_unknown_subcommand_named_in_prose_fails(tmp_path):
    blocks = blocks_in_markdown("Run `python -m rtlib im-serve` to start it.", "planted")
    assert [b.lines for b in blocks] == [["python -m rtlib im-serve"]]
    assert run_block(blocks[0], tmp_path) != []


def test_a_token_nobody_printed_fails(tmp_path):
    block = Block("planted", ["python -m rtlib im-chat --url ws://127.0.0.1:8765 --user carol --token TOKEN --conv x"])
    failures = run_block(block, tmp_path)
    assert len(failures) == 1 and failures[0].endswith(": no token was printed for this user earlier in the block")


def test_a_missing_setup_step_fails(tmp_path):
    """The README's chat session without the step that makes alice a member of the conversation."""
    block = Block("planted", [
        "python -m rtlib im-admin --db chat.sqlite add-user alice",
        "python -m rtlib im-server --db chat.sqlite --host 127.0.0.1 --port 8765",
        'python -m rtlib im-chat --url ws://127.0.0.1:8765 --user alice --token TOKEN --conv general --send "hi"'])
    failures = run_block(block, tmp_path)
    assert len(failures) == 1 and "not_member" in failures[0]


def test_notation_is_expanded():
    assert expand("python -m rtlib emodel --loss 0.01 [--no-plc] --json") == [
        "python -m rtlib emodel --loss 0.01 --json", "python -m rtlib emodel --loss 0.01 --no-plc --json"]
    assert expand("python -m rtlib abr --controller gcc|aimd --json") == [
        "python -m rtlib abr --controller gcc --json", "python -m rtlib abr --controller aimd --json"]
    assert join_lines(["python -m rtlib call --seconds 20 \\", "   --json   # one object", "# comment", ""]) == [
        "python -m rtlib call --seconds 20 --json"]
