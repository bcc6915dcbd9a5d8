"""Two of our servers behind nginx, restarted one after the other under load.

The step beyond one machine is several servers behind a reverse proxy that
already exists. `restart_behind_nginx()` runs, on 127.0.0.1:

- two servers, `python -m httpserver --wsgi httpserver.lab.apps:whoami
  --trusted-proxy 127.0.0.1`, each on its own port;
- nginx in front of both (an `upstream` of two, keep-alive to them, the
  client's address in `X-Forwarded-For`), on a third port;
- a bounded keep-alive load against nginx (restart.py's clients);
- a rolling restart: SIGTERM to the first server (it stops gracefully, nginx
  sends its new requests to the other), the first started again on its port,
  then the same for the second.

Each answer says which process sent it; the result counts failed requests.
nginx must be installed (`apt-get install nginx`, `brew install nginx`);
`nginx_available()` says whether it is. Chapter 10 shows a recorded run
(data/recorded/nginx_restart.json) where it is not.
"""

import json
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .restart import RestartResult, _client, free_port, start_server

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  upstream app {{
    # max_fails=0: a server that refused a connection while it restarted is tried
    # again at once, not left out for fail_timeout (10 s) as nginx does by default.
    server 127.0.0.1:{first} max_fails=0;
    server 127.0.0.1:{second} max_fails=0;
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # A server that refuses the connection, or closes a kept-alive one before
      # answering, is skipped: nginx tries the other (GET is safe to repeat).
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


def nginx_available():
    return shutil.which("nginx") is not None


def start_nginx(folder, port, first, second):
    """nginx in the foreground, proxying 127.0.0.1:`port` to the two servers."""
    import os
    user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(NGINX_CONF.format(user=user, folder=folder, port=port,
                                                         first=first, second=second))
    process = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"nginx did not start: {(folder / 'error.log').read_text() if (folder / 'error.log').exists() else ''}")


def restart_behind_nginx(clients=8, duration=6.0, path="/slow?ms=20", graceful_timeout=10):
    """The rolling restart described in the module docstring; returns a RestartResult
    with `restarts`: [(seconds, what)] and `servers`: {pid: "first"/"second"}."""
    if not nginx_available():
        raise RuntimeError("nginx is not installed")
    folder = Path(tempfile.mkdtemp(prefix="httpserver-nginx-"))
    ports = [free_port(), free_port()]
    proxy_port = free_port()
    extra = ["--trusted-proxy", "127.0.0.1", "--graceful-timeout", str(graceful_timeout)]
    servers = [start_server(port, extra) for port in ports]
    nginx = start_nginx(folder, proxy_port, *ports)
    result, lock = RestartResult(old_pid=servers[0].pid, new_pid=servers[1].pid), threading.Lock()
    result.restarts, result.pids = [], {servers[0].pid: "first server", servers[1].pid: "second server"}
    result.forwarded_for = None
    started = time.monotonic()
    threads = [threading.Thread(target=_client, args=(proxy_port, path, started + duration, started, result, lock),
                                daemon=True) for _ in range(clients)]
    try:
        for thread in threads:
            thread.start()
        for index, name in enumerate(("first server", "second server")):
            time.sleep(duration / 4)  # both restarts done by about half-way: the restarted serve the rest
            servers[index].send_signal(signal.SIGTERM)
            result.restarts.append((time.monotonic() - started, f"SIGTERM to the {name}"))
            servers[index].wait(graceful_timeout + 5)
            result.restarts.append((time.monotonic() - started, f"the {name} has exited"))
            servers[index] = start_server(ports[index], extra)
            result.pids[servers[index].pid] = f"{name}, restarted"
            result.restarts.append((time.monotonic() - started, f"the {name} answers again"))
        for thread in threads:
            thread.join(duration + 15)
    finally:
        for process in servers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(graceful_timeout + 5)
        nginx.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()
        shutil.rmtree(folder, ignore_errors=True)
    result.answers.sort()
    return result


def as_record(result):
    """A RestartResult from restart_behind_nginx as plain data, for data/recorded/."""
    return {"answers": result.answers, "failures": result.failures, "retries": result.retries,
            "restarts": result.restarts, "pids": {str(pid): name for pid, name in result.pids.items()}}


def load_record(path):
    return json.loads(Path(path).read_text())


def record(folder="data/recorded"):
    """Run both restarts (SO_REUSEPORT, and behind nginx) and keep what the clients
    saw, for readers without nginx or Linux: `python -m httpserver.lab.proxying`."""
    from .restart import graceful_restart

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rounded = lambda pairs: [(round(t, 4), what) for t, what in pairs]  # noqa: E731
    same_port = graceful_restart(clients=8, duration=4.0, restart_at=1.5)
    (folder / "restart_same_port.json").write_text(json.dumps({
        "answers": rounded(same_port.answers), "failures": rounded(same_port.failures),
        "retries": same_port.retries, "old_pid": same_port.old_pid, "new_pid": same_port.new_pid,
        "new_started_at": same_port.new_started_at, "sigterm_at": same_port.sigterm_at,
        "old_exited_at": same_port.old_exited_at, "first_exit_code": same_port.first_exit_code}))
    behind = restart_behind_nginx()
    record = as_record(behind)
    record["answers"], record["failures"] = rounded(behind.answers), rounded(behind.failures)
    (folder / "nginx_restart.json").write_text(json.dumps(record))
    print(f"same port: {same_port.completed} answered, {same_port.failed} failed; "
          f"behind nginx: {behind.completed} answered, {behind.failed} failed; in {folder}/")


if __name__ == "__main__":
    record()
