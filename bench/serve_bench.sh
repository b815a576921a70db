#!/usr/bin/env bash
# Serving benchmark (bench/README.md, "Serve benchmark"): feedmerge's HTTP server against nginx
# serving the same bytes as static files, side by side in one run. Builds feedmerge (Release, in
# build-bench-serve/), installs wrk and nginx if missing, makes a merged RSS output of about
# 200 KB (300 items from three generated feeds, grouped by SQL into 100 stories of three
# members), runs `feedmerge run` with [publish] output_dir so that nginx serves the very files
# feedmerge wrote (feed.xml and its precompressed feed.xml.gz through gzip_static, with the same
# Content-Type, ETag, Last-Modified and Vary headers), then wrk (2 threads, 50 connections,
# 10 s) against both: plain, gzip, and If-None-Match (304). Prints req/s and p99 latency and the
# ratios against the targets (>= 50% of nginx's req/s, p99 <= 2x nginx's). About 2 minutes.
# Usage: bench/serve_bench.sh        Environment: BENCH_BUILD_DIR, DURATION (default 10s), KEEP=1
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BENCH_BUILD_DIR:-build-bench-serve}
duration=${DURATION:-10s}

for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! [[ -x /usr/sbin/$tool ]]; then
    echo "serve_bench: installing $tool" >&2
    pkg=$tool
    [[ $tool == nginx ]] && pkg=nginx-light
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFEEDMERGE_TESTS=OFF >/dev/null
fi
echo "serve_bench: building feedmerge (Release) in $build_dir" >&2
if ! cmake --build "$build_dir" -j2 --target feedmerge >"$build_dir/serve_bench_build.log" 2>&1; then
  tail -40 "$build_dir/serve_bench_build.log" >&2
  exit 1
fi
feedmerge=$PWD/$build_dir/feedmerge

work=$(mktemp -d /tmp/feedmerge-serve-bench.XXXXXX)
chmod 755 "$work"  # nginx's workers (www-data) read www/ inside it
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "serve_bench: work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fm_port=$(free_port)
nx_port=$(free_port)
while [[ $nx_port == "$fm_port" ]]; do nx_port=$(free_port); done

/usr/bin/python3 bench/serve_bench.py prepare --work "$work" --port "$fm_port"
(cd "$work" && "$feedmerge" once --all --config feedmerge.toml >/dev/null 2>&1)
/usr/bin/python3 bench/serve_bench.py stories --work "$work"

(cd "$work" && exec "$feedmerge" run --config feedmerge.toml >"$work/feedmerge.log" 2>&1) &
pids+=($!)
/usr/bin/python3 bench/serve_bench.py wait --url "http://127.0.0.1:$fm_port/feed.xml" --file "$work/www/feed.xml.gz"

mkdir -p "$work/nginx-tmp"
cat >"$work/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000000;
  server_tokens off;
  client_body_temp_path $work/nginx-tmp/body;
  proxy_temp_path $work/nginx-tmp/proxy;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  types { application/rss+xml xml; }
  charset utf-8;
  charset_types application/rss+xml;
  etag on;
  gzip_static on;
  gzip_vary on;
  server {
    listen 127.0.0.1:$nx_port;
    root $work/www;
  }
}
EOF
"$nginx_bin" -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)
/usr/bin/python3 bench/serve_bench.py wait --url "http://127.0.0.1:$nx_port/feed.xml"

/usr/bin/python3 bench/serve_bench.py run --feedmerge "http://127.0.0.1:$fm_port/feed.xml" \
  --nginx "http://127.0.0.1:$nx_port/feed.xml" --duration "$duration" --work "$work"
