"""nginx.conf: `nginx -t` on the real binary, and the routes, limits and headers the proxy promises."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from berth.exporters import ExportOptions, bundle, render_nginx
from berth.exporters.nginx import body_size
from tests.conftest import NGINX
from tests.unit.exporters.conftest import cpu_spec, gpu_spec

needs_nginx = pytest.mark.nginx  # fails, never skips, without nginx; BERTH_TEST_SKIP_NGINX=1 opts out


def nginx_test(conf: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    assert NGINX is not None
    return subprocess.run(
        [NGINX, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def loopback_conf(tmp_path: Path) -> str:
    return render_nginx(
        [cpu_spec(), gpu_spec()],
        {"minilm": "127.0.0.1:18101", "chat": "127.0.0.1:18102"},
        control_plane="127.0.0.1:18000",
        listen="127.0.0.1:18080",
        static_root=str(tmp_path / "ui"),
        runtime_dir=str(tmp_path),
    )


@needs_nginx
def test_rendered_config_passes_nginx_t(tmp_path: Path) -> None:
    result = nginx_test(loopback_conf(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@needs_nginx
def test_the_compose_bundle_config_passes_nginx_t_with_its_hosts_on_loopback(tmp_path: Path) -> None:
    conf = bundle("compose", [cpu_spec(), gpu_spec()], ExportOptions())["nginx/nginx.conf"]
    # Compose service names resolve only inside the stack; the rest of the file is tested as shipped.
    for host in ("control-plane", "minilm", "chat"):
        conf = conf.replace(f"server {host}:", "server 127.0.0.1:")
    conf = conf.replace(" /tmp/", f" {tmp_path}/")  # pid and temp files, a tmpfs in the container
    result = nginx_test(conf, tmp_path)
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_nginx_t_rejects_a_broken_config(tmp_path: Path) -> None:
    conf = loopback_conf(tmp_path).replace("proxy_buffering off;", "proxy_buffering sometimes;", 1)
    assert nginx_test(conf, tmp_path).returncode != 0


def locations(conf: str) -> dict[str, str]:
    """`location` prefix → its block's text (blocks here hold no nested braces)."""
    return {m.group(1).strip(): m.group(2) for m in re.finditer(r"location ([^{]+)\{([^}]*)\}", conf)}


def test_routes_and_their_limits(tmp_path: Path) -> None:
    conf = loopback_conf(tmp_path)
    blocks = locations(conf)
    api = blocks["/api/"]
    assert "proxy_set_header Upgrade $http_upgrade;" in api
    assert "proxy_set_header Connection $connection_upgrade;" in api
    assert "proxy_read_timeout 3600s;" in api
    assert "proxy_pass http://berth_control_plane;" in api
    chat = blocks["/models/chat/"]
    assert "proxy_pass http://berth_model_chat/;" in chat  # the trailing slash strips the prefix
    assert "client_max_body_size 4m;" in chat
    assert "client_max_body_size 1m;" in blocks["/models/minilm/"]
    # shared locations take the largest body any deployment accepts
    assert re.search(r"^        client_max_body_size 4m;", conf, re.MULTILINE)
    assert "proxy_pass http://berth_control_plane/health/ready;" in blocks["= /health"]
    assert "= /openapi.json" in blocks
    assert "~ ^/(docs|redoc)(/|$)" in blocks
    assert "try_files $uri $uri/ /index.html;" in blocks["/"]
    assert 'Cache-Control "public, max-age=31536000, immutable"' in blocks["/assets/"]
    assert 'Cache-Control "no-cache"' in blocks["= /index.html"]
    assert f"root {tmp_path}/ui;" in conf
    assert f"pid {tmp_path}/nginx.pid;" in conf
    assert "listen 127.0.0.1:18080;" in conf
    for header in ("X-Real-IP $remote_addr", "X-Forwarded-For $proxy_add_x_forwarded_for"):
        assert all(header in block for block in blocks.values() if "proxy_pass" in block)


def test_every_location_that_sets_headers_repeats_the_security_headers(tmp_path: Path) -> None:
    # nginx drops inherited add_header directives in any location that has its own.
    conf = loopback_conf(tmp_path)
    for prefix, block in locations(conf).items():
        if "add_header" in block:
            for header in (
                "X-Content-Type-Options",
                "X-Frame-Options",
                "Referrer-Policy",
                "Content-Security-Policy",
            ):
                assert header in block, f"{prefix} lacks {header}"
    assert "gzip on;" in conf
    assert "application/json" in conf


def test_body_sizes_use_nginx_units() -> None:
    assert [body_size(n) for n in (1_048_576, 65_536, 1_500)] == ["1m", "64k", "1500"]
