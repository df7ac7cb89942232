package audit

import "github.com/ansinh/ansinh/internal/platform/apperr"

var errNoEvent = apperr.New(apperr.NotFound, "audit_event_not_found", "no such audit event")
