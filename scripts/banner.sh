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

  Demo logins (password ansinh-demo; development only):
    demo-admin     system_admin      province 91 Kiên Giang
    demo-worker    commune_worker    commune 30791 Vĩnh Phú (Giang Thành)
    demo-worker2   commune_worker    commune 31036 Đông Hưng A (An Minh)
    demo-approver  district_approver district 914 Giang Thành
    demo-auditor   province_auditor  province 91
    demo-manager   program_manager   province 91
  The demo province (Kiên Giang, 91) has about 3,000 synthetic households, a recognized
  2025 poverty review in every commune, and 2026 support (cards, school, houses, loans, Tết gifts).
  Try: GET /api/v1/reports/poverty?area=91 as demo-auditor, or /api/v1/households/{id}/eligibility.
  Sign in:
    curl -s localhost:${port}/api/v1/auth/login -H 'Content-Type: application/json' -d '{"username":"demo-worker","password":"ansinh-demo"}'
  Stop with Ctrl-C; the database keeps running (make db-stop stops it).

MSG
