"""The benchmark's code path, run quickly: timings stay out of the test suite."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from httpserver import bench


@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the benchmark reads /proc for CPU and memory")
def test_quick_benchmark_writes_its_reports(tmp_path):
    cores = os.sched_getaffinity(0)
    results = bench.main(["--quick", "--tool", "own", "--only", "http.server", "select",
                          "--idle", "20", "--out", str(tmp_path)])
    assert results == 0
    assert os.sched_getaffinity(0) == cores, "the caller's cores are given back"
    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data["servers"]) == {"http.server", "select"}
    for entry in data["servers"].values():
        assert all(level["rps"] > 0 for level in entry["small"].values())
        assert entry["large"]["mib_per_s"] > 0
    assert data["idle"]["connections"] == 20 and data["idle"]["newcomer_ms_median"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| select |" in table and "×" in table
    assert (tmp_path / "bench.png").stat().st_size > 10_000


def test_wrk_latency_parsing():
    output = "  Latency Distribution\n     50%  231.00us\n     75%    1.20ms\n     99%    1.51s \n"
    assert bench.wrk_ms(output, "50%") == pytest.approx(0.231)
    assert bench.wrk_ms(output, "99%") == pytest.approx(1510)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cpu_time_counts_the_processes_a_server_started():
    # `--workers` servers are a parent and its children: CPU/GiB must count them all.
    grandchild = "import time; time.sleep(30)"
    child = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 10
        while len(bench.process_tree(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = bench.process_tree(parent.pid)
        assert pids[0] == parent.pid and len(pids) == 2
        assert bench.process_cpu_seconds(parent.pid) >= 0
    finally:
        for pid in reversed(bench.process_tree(parent.pid)):
            os.kill(pid, 15)
        parent.wait(10)


def test_nginx_gets_absolute_paths(tmp_path, monkeypatch):
    # nginx resolves relative paths against its prefix folder, not our working folder.
    monkeypatch.chdir(tmp_path)
    command = bench.nginx_command(Path("site"), 8080, Path("build/nginx"))
    config = (tmp_path / "build" / "nginx" / "nginx.conf").read_text()
    assert f"root {tmp_path / 'site'};" in config
    assert all(Path(part).is_absolute() for part in command[2::2])


def test_uvicorn_app_answers_from_the_site(tmp_path):
    # The ASGI app we hand uvicorn, driven directly: no uvicorn needed for this test.
    import asyncio
    import importlib.util

    site = tmp_path / "site"
    site.mkdir()
    (site / "1k.txt").write_bytes(b"x" * 1024)
    command = bench.uvicorn_command(site, 8081, tmp_path / "uvicorn")
    assert command[1:3] == ["-m", "uvicorn"] and "--http" not in command  # each row adds its parser
    commands = bench.server_commands(site, 8081, tmp_path / "nginx")
    if importlib.util.find_spec("uvicorn") and importlib.util.find_spec("httptools"):
        assert commands["uvicorn + httptools"][-2:] == ["--http", "httptools"]
        assert commands["uvicorn + h11"][-2:] == ["--http", "h11"]
    spec = importlib.util.spec_from_file_location("bench_app", tmp_path / "uvicorn" / "bench_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def answer(path):
        sent = []

        async def send(message):
            sent.append(message)

        asyncio.run(module.app({"type": "http", "path": path}, None, send))
        return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]

    status, headers, body = answer("/1k.txt")
    assert (status, body) == (200, b"x" * 1024) and headers[b"content-length"] == b"1024"
    assert answer("/missing")[0] == 404


def test_the_hostile_client_rows_measure_a_real_server(tmp_path):
    from httpserver.bench import make_site
    from httpserver.bench_pressure import pipelining_memory, upload_delay
    site = make_site(tmp_path / "site", 2 * 2**20)
    memory = pipelining_memory(site, "select")
    assert memory is None or memory < 16 * 1024  # KiB: far below the 630 MiB the requests ask for
    delay = upload_delay(site, "select")
    assert 0 < delay["quiet_ms"] and delay["median_ms"] <= delay["max_ms"] and delay["upload_s"] > 0
    assert not (site / "upload.bin").exists()  # cleaned up after itself
