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

  Demo logins (password ansinh-demo; development only), at today's units:
    demo-admin     system_admin      province 91 An Giang (took in Kiên Giang in the 2025 reform)
    demo-worker    commune_worker    commune 30793 Vĩnh Điều (took in Vĩnh Phú, 30791)
    demo-worker2   commune_worker    commune 31036 Đông Hưng (was Đông Hưng A)
    demo-approver  district_approver province 91 (its district, 914 Giang Thành, is gone)
    demo-auditor   province_auditor  province 91
    demo-manager   program_manager   province 91
  The demo province was recorded under Kiên Giang's 2025-03 units (about 3,000 synthetic
  households, a recognized 2025 poverty review in every commune, 2026 support: cards, school,
  houses, loans, Tết gifts) and its recognized lists of 2016-2024 loaded by the history import,
  then moved to today's units by "ansinh areas reorganize".
  Try as demo-auditor: GET /api/v1/reports/poverty?area=91 (today's communes) and
    ?area=91&edition=2025-03 (Kiên Giang's districts as they were); or /api/v1/households/{id}/eligibility.
  The trend, 8.78% in 2016 to 1.69% in 2020, then the 2022 standard's re-baseline:
    GET /api/v1/reports/trend?area=91&from=2016&to=2025&edition=2025-03 (add &format=xlsx for its chart)
  What waits for each account: GET /api/v1/inbox (demo-worker has an overdue regular review).
  Sign in:
    curl -s localhost:${port}/api/v1/auth/login -H 'Content-Type: application/json' -d '{"username":"demo-worker","password":"ansinh-demo"}'
  Stop with Ctrl-C; the database keeps running (make db-stop stops it).

MSG
