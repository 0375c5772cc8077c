"""The Docker image, built and run for real with podman (CI: `.ci/install-podman.sh` first).

One image build per module (``../shared/container/build-image.sh``), then three smoke runs:

1. ``policybot --help``;
2. sync the Chips Act from the read-only mounted mirror into the data volume, index it and ask a
   question with ``--json`` — all with ``--network none``, so the image answers fully offline;
3. the HTTP Slack app (``policybot slack --http``, ``--network host``) answering one correctly signed
   ``app_mention`` through the local Slack Web API server of ``tests/slack_fixtures.py``; also the
   image's HEALTHCHECK, run once by hand.

Skipped, with the reason, when podman or ``../shared/container`` is missing, or when not root
(build-image.sh needs root). Every container gets a unique name and is removed afterwards, even
after a timeout. ``pytest -m "not container"`` leaves this module out.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slack_fixtures import BOT_TOKEN, SIGNING_SECRET, SlackRequests, start_fake_slack_api

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONTAINER_TOOLS = SHARED / "container"
MIRROR = SHARED / "corpus"
BUILD = CONTAINER_TOOLS / "build-image.sh"
RUN = CONTAINER_TOOLS / "run.sh"
TAG = os.environ.get("POLICYBOT_TEST_IMAGE", "localhost/policybot-test:latest")
QUESTION = "How is a semiconductor crisis declared under the Chips Act?"
APP_UID = 10001  # the image's `policybot` user (Dockerfile)

BUILD_TIMEOUT = 1800  # a clean machine: base image (~1 min) + pip install of the dependencies
RUN_TIMEOUT = 120
INDEX_TIMEOUT = 900  # ~200 chunks of the Chips Act on two shared cores (~75 s measured)
SLACK_START_TIMEOUT = 120
SLACK_ANSWER_TIMEOUT = 240


def _skip_reason() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (CI installs it with .ci/install-podman.sh)"
    if not BUILD.is_file() or not RUN.is_file():
        return f"{CONTAINER_TOOLS} (build-image.sh, run.sh) is not beside the checkout"
    if os.geteuid() != 0:
        return "build-image.sh needs root (CI runs as root)"
    return None


_REASON = _skip_reason()
pytestmark = [
    pytest.mark.container,
    pytest.mark.timeout(BUILD_TIMEOUT + INDEX_TIMEOUT + 600),  # the first test pays for the module's build
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
]


def _podman_env() -> dict[str, str]:
    """Settings for plain `podman` calls: the containers.conf build-image.sh writes (runc, bounded rlimits)."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "policy-containers" / "containers.conf")
    return env


def _tail(text: str | bytes | None, lines: int = 40) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join((text or "").splitlines()[-lines:])


def _remove(name: str) -> None:
    subprocess.run(["podman", "rm", "--force", "--time", "0", "--ignore", name], env=_podman_env(),
                   capture_output=True, timeout=60, check=False)


def _run(image: str, *args: str, options: tuple[str, ...] = (), timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`run.sh --rm [options] IMAGE args...` in a uniquely named container, removed even after a timeout."""
    name = f"policybot-test-{uuid.uuid4().hex[:10]}"
    cmd = [str(RUN), "--rm", "--name", name, "--no-healthcheck", *options, image, *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(args)} did not finish within {timeout} s:\n{_tail(exc.stderr)}")
    finally:
        _remove(name)


def _ok(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{_tail(result.stderr)}\n{_tail(result.stdout)}"
    return result.stdout


@pytest.fixture(scope="module")
def image() -> str:
    """Build the project's Dockerfile once (docker format, so the image keeps its HEALTHCHECK)."""
    env = dict(os.environ, BUILDAH_FORMAT="docker")
    start = time.monotonic()
    try:
        result = subprocess.run([str(BUILD), str(ROOT), TAG], capture_output=True, text=True, env=env,
                                timeout=BUILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"build-image.sh did not finish within {BUILD_TIMEOUT} s:\n{_tail(exc.stdout)}\n{_tail(exc.stderr)}")
    if result.returncode != 0:
        pytest.fail(f"build-image.sh exited {result.returncode}:\n{_tail(result.stdout)}\n{_tail(result.stderr)}")
    print(f"\nbuilt {TAG} in {time.monotonic() - start:.0f} s")
    return TAG


@pytest.fixture(scope="module")
def data_dir(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The container's /data: the Chips Act synced from the read-only mirror and indexed, offline."""
    if not MIRROR.is_dir():
        pytest.skip(f"{MIRROR} (the mirror) is not beside the checkout")
    data = tmp_path_factory.mktemp("container-data")
    os.chown(data, APP_UID, APP_UID)  # the image runs as its own user, not root
    result = _run(image, "sh", "-c", "policybot sync --source chips-act --mirror /mirror && policybot index",
                  options=("--network", "none", "-v", f"{MIRROR}:/mirror:ro", "-v", f"{data}:/data"),
                  timeout=INDEX_TIMEOUT)
    out = _ok(result, "policybot sync + index")
    assert "chips-act" in out, out
    return data


def test_help(image: str) -> None:
    out = _ok(_run(image, "policybot", "--help"), "policybot --help")
    for command in ("sync", "index", "ask", "slack"):
        assert command in out, out


def test_ask_offline_from_the_mounted_mirror(image: str, data_dir: Path) -> None:
    result = _run(image, "policybot", "ask", QUESTION, "--json",
                  options=("--network", "none", "-v", f"{data_dir}:/data"), timeout=300)
    answer = json.loads(_ok(result, "policybot ask --json"))
    assert not answer["abstained"], answer["text"]
    assert answer["citations"], answer["text"]
    assert {c["source"] for c in answer["citations"]} == {"chips-act"}, answer["citations"]
    assert "Chips Act, Article" in answer["text"], answer["text"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def slack_container(image: str, data_dir: Path) -> Iterator[tuple[str, str, object]]:
    """`policybot slack --http` in the container, its Web API pointed at a local FakeSlackAPI on the host."""
    api, server = start_fake_slack_api()
    port = _free_port()
    name = f"policybot-test-slack-{uuid.uuid4().hex[:10]}"
    cmd = [str(RUN), "--detach", "--name", name, "--network", "host", "--health-interval", "disable",
           "-v", f"{data_dir}:/data",
           "-e", f"SLACK_SIGNING_SECRET={SIGNING_SECRET}", "-e", f"SLACK_BOT_TOKEN={BOT_TOKEN}",
           "-e", f"POLICYBOT_SLACK_API_URL={api.url}", "-e", f"POLICYBOT_HEALTH_PORT={port}",
           image, "policybot", "slack", "--http", "--host", "0.0.0.0", "--port", str(port)]
    try:
        started = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
        assert started.returncode == 0, f"podman run exited {started.returncode}:\n{_tail(started.stderr)}"
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SLACK_START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            state = subprocess.run(["podman", "inspect", "--format", "{{.State.Running}}", name], env=_podman_env(),
                                   capture_output=True, text=True, timeout=30, check=False).stdout.strip()
            if state != "true" or time.monotonic() > deadline:
                pytest.fail(f"the Slack app did not come up on port {port} (running: {state}):\n{_logs(name)}")
            time.sleep(1)
        yield name, base, api
    finally:
        _remove(name)
        server.shutdown()
        server.server_close()


def _logs(name: str) -> str:
    logs = subprocess.run(["podman", "logs", name], env=_podman_env(), capture_output=True, text=True,
                          timeout=30, check=False)
    return _tail(logs.stdout + logs.stderr)


def test_http_slack_app_answers_a_signed_mention(slack_container: tuple[str, str, object]) -> None:
    name, base, api = slack_container
    slack = SlackRequests(base + "/slack/events", api.url)  # type: ignore[attr-defined]
    resp = slack.event(slack.mention(QUESTION, channel="C0000CHAN", ts="1700000777.000100"))
    assert resp.status == 200, resp.body

    posts = api.wait_for("chat.postMessage", timeout=SLACK_ANSWER_TIMEOUT)  # type: ignore[attr-defined]
    assert posts, f"no chat.postMessage within {SLACK_ANSWER_TIMEOUT} s:\n{_logs(name)}"
    time.sleep(2)  # a second (duplicate) answer would arrive right after the first
    posts = api.named("chat.postMessage")  # type: ignore[attr-defined]
    assert len(posts) == 1, [p.params.get("text") for p in posts]
    post = posts[0]
    assert post.params["channel"] == "C0000CHAN" and post.params["thread_ts"] == "1700000777.000100", post.params
    assert post.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert not post.params["text"].startswith("I could not answer"), f"{post.params['text']}\n{_logs(name)}"
    assert "Chips Act" in json.dumps(post.params, ensure_ascii=False), post.params

    # The image's HEALTHCHECK (python -m bot.slack.healthcheck -> GET /healthz) passes while it serves.
    health = subprocess.run(["podman", "healthcheck", "run", name], env=_podman_env(), capture_output=True,
                            text=True, timeout=60, check=False)
    assert health.returncode == 0, f"healthcheck: {health.stdout}{health.stderr}"
