#!/usr/bin/env bash
# Printed by `make run` just before the server starts.
addr="${ANSINH_HTTP_ADDR:-:8080}"
port="${addr##*:}"
cat <<MSG

  ansinh is starting on http://localhost:${port}
    API docs (Swagger UI)  http://localhost:${port}/docs
    OpenAPI document       http://localhost:${port}/openapi.yaml
    health / readiness     http://localhost:${port}/healthz  /readyz
    metrics                http://localhost:${port}/metrics

  Logging in: user accounts and the demo logins (demo-admin, demo-worker, ...)
  arrive with the identity issue; until then the API has no login.
  Stop with Ctrl-C; the database keeps running (make db-stop stops it).

MSG
