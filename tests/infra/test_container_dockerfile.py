"""The Dockerfile read statically (Docker is not available here: the image is never built by these tests),
and its runtime stage rehearsed: the locked runtime set installed the way its build stage installs it,
the files its COPY lines copy laid out as /app, and its command served from there."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from samtranslator.yaml_helper import yaml_parse

from infra.container import dockerfile
from infra.local.services import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGE = dockerfile.load(ROOT / "Dockerfile")
BUILD = IMAGE.stages[0]
NETWORK_FETCH = re.compile(r"\b(curl|wget|huggingface|hf_hub|snapshot_download|from_pretrained)\b|https?://", re.I)


def _copies(stage: dockerfile.Stage) -> list[tuple[list[str], str, str | None]]:
    """(sources, destination, --from stage) of each COPY."""
    out = []
    for ins in stage.all("COPY"):
        words = shlex.split(ins.args)
        flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        out.append((paths[:-1], paths[-1], flags.get("from")))
    return out


def _image_files() -> dict[str, str]:
    """Image path -> context path of every file or directory the build stage copies into /app."""
    out = {}
    for sources, dest, origin in _copies(BUILD):
        if origin is None and dest.startswith("/app"):
            for src in sources:
                out[dest + Path(src).name if dest.endswith("/") else dest] = src
    return out


def test_multi_stage_and_the_runtime_stage_installs_nothing() -> None:
    assert len(IMAGE.stages) >= 2
    assert IMAGE.final.name != BUILD.name
    origins = {origin for _, _, origin in _copies(IMAGE.final)}
    assert BUILD.name in origins  # the environment is built in the build stage, then copied
    for ins in IMAGE.final.all("RUN"):
        assert not re.search(r"\b(pip|uv|apt-get|apk)\b", ins.args), f"the runtime stage installs: {ins.args}"
    assert [dest for _, dest, origin in _copies(IMAGE.final) if origin == BUILD.name] == ["/venv", "/app"]


def test_runs_as_a_fixed_non_root_user() -> None:
    final = IMAGE.final.instructions
    users = [i for i in final if i.keyword == "USER"]
    assert users, "no USER: the container would run as root"
    uid, _, gid = users[-1].args.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, users[-1].args
    last_run = max(n for n, i in enumerate(final) if i.keyword == "RUN")
    assert final.index(users[-1]) > last_run  # nothing after it runs as root


def test_installs_exactly_the_lock() -> None:
    (sync,) = [i for i in BUILD.all("RUN") if "uv sync" in i.args]
    flags = shlex.split(sync.args)
    assert {"--frozen", "--no-default-groups", "--no-install-project"} <= set(flags)  # the lock as is, runtime only
    assert not {"--upgrade", "-U", "--refresh"} & set(flags)
    assert any(sources == ["pyproject.toml", "uv.lock"] for sources, _, _ in _copies(BUILD))
    for stage in IMAGE.stages:
        for ins in stage.all("RUN"):
            assert "pip install" not in ins.args and "uv lock" not in ins.args and "uv add" not in ins.args
    uv_image = next(origin for _, _, origin in _copies(BUILD) if origin and "astral-sh/uv" in origin)
    make_uv = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert make_uv and uv_image.endswith(f":{make_uv[1]}"), "the image's uv is not the Makefile's"


def test_python_is_the_lambda_runtimes() -> None:
    runtime = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))["Globals"]["Function"]["Runtime"]
    assert IMAGE.args["PYTHON_IMAGE"].startswith(f"python:{runtime.removeprefix('python')}-")
    assert {s.image for s in IMAGE.stages} == {"${PYTHON_IMAGE}"}


def test_nothing_is_fetched_but_the_locked_packages() -> None:
    for stage in IMAGE.stages:
        assert not stage.all("ADD"), "ADD can fetch URLs: COPY only"
        for ins in stage.all("RUN"):
            assert not NETWORK_FETCH.search(ins.args), ins.args
    # The bundled model is loaded during the build with no network at all.
    (check,) = [i for i in BUILD.all("RUN") if "Embedder" in i.args]
    assert check.args.startswith("--network=none ")


def test_the_command_is_the_entrypoint_module_and_the_image_has_its_files() -> None:
    command = IMAGE.command()
    assert command[:2] == ["python", "-m"] and len(command) == 3, command
    spec = importlib.util.find_spec(command[2])
    assert spec and spec.origin
    module_file = Path(spec.origin).relative_to(ROOT)
    files = _image_files()
    needed = [module_file, *(p / "__init__.py" for p in module_file.parents if p != Path("."))]
    for path in needed:
        assert files.get(f"/app/{path}") == str(path), f"the image lacks {path} at /app/{path}"
    assert files["/app/companion"] == "layers/companion/companion"
    # The module needs nothing the image lacks: the standard library (uvicorn is imported in serve()).
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    imported = {(n.module or "").split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom)}
    imported |= {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    healthcheck = IMAGE.final.all("HEALTHCHECK")[0].args.partition(" CMD ")[2]
    assert yaml_parse(healthcheck) == [*command, "--check"]


def test_dockerignore_lets_in_exactly_what_is_copied() -> None:
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "*"
    allowed = [ln[1:].rstrip("/") for ln in lines if ln.startswith("!")]
    sources = {src.rstrip("/") for stage in IMAGE.stages for srcs, _, origin in _copies(stage) if origin is None
               for src in srcs}
    assert sources == set(allowed)


# ---------------------------------------------------------------- the runtime stage, rehearsed
def test_the_locked_runtime_set_alone_serves_both_roles(tmp_path: Path) -> None:
    """Without dev or deploy tools and without the checkout on the path: the build stage's `uv sync`
    (from uv's cache, offline; this interpreter, not the image's 3.12) and its COPY lines into a
    stand-in /app, then the image's command with the image's ENV."""
    (sync,) = [i for i in BUILD.all("RUN") if "uv sync" in i.args]
    args = shlex.split(sync.args.partition("uv sync")[2])
    args = [a for n, a in enumerate(args) if not (a == "--python" or (n and args[n - 1] == "--python"))]
    project, venv, app = tmp_path / "src", tmp_path / "venv", tmp_path / "app"
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        (project / name).write_bytes((ROOT / name).read_bytes())
    env = {**os.environ, **{k: v for k, v in BUILD.env().items() if k != "UV_PROJECT_ENVIRONMENT"},
           "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "hardlink", "UV_COMPILE_BYTECODE": "0"}
    env.pop("VIRTUAL_ENV", None)
    uv = [found] if (found := shutil.which("uv")) else ["python3", "-m", "uv"]  # the Makefile's $(UV)
    done = subprocess.run([*uv, "sync", *args, "--offline", "--python", sys.executable],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.skip(f"the locked set is not in uv's cache for an offline install: {done.stderr[-300:]}")
    for image_path, source in _image_files().items():
        target = app / image_path.removeprefix("/app/")
        target.parent.mkdir(parents=True, exist_ok=True)
        src = ROOT / source
        if src.is_dir():
            subprocess.run(["cp", "-r", str(src), str(target)], check=True)
        else:
            target.write_bytes(src.read_bytes())
    image_env = {k: v.replace("/venv/bin", str(venv / "bin")).replace("$PATH", "/usr/bin:/bin")
                 for k, v in IMAGE.final.env().items()}
    image_env["PYTHONPATH"] = str(app)
    for role in ("chat", "memory_api"):
        port = free_port()
        run_env = {**image_env, "APP_ROLE": role, "PORT": str(port), "HOME": str(tmp_path), "APP_ENV": "test",
                   "AWS_REGION": "us-east-1", "JWT_SECRET": "x"}
        proc = subprocess.Popen(IMAGE.command(), cwd=app, env=run_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline, status = time.monotonic() + 60, 0
            while time.monotonic() < deadline and proc.poll() is None and status != 200:
                with contextlib.suppress(httpx.HTTPError):
                    status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
                time.sleep(0.1)
            assert status == 200, proc.stdout.read().decode() if proc.poll() is not None and proc.stdout else role
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, role
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
