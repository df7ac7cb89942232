package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// SetVersionETag sends a versioned object's ETag ("3").
func SetVersionETag(c *gin.Context, version int) {
	c.Header("ETag", fmt.Sprintf(`"%d"`, version))
}

// IfMatchVersion reads the If-Match an update requires: 428 without it, 412
// when it is not an ETag this server issued. The caller compares the version
// with the stored one (412 when stale).
func IfMatchVersion(c *gin.Context) (int, error) {
	raw := strings.Trim(strings.TrimPrefix(strings.TrimSpace(c.GetHeader("If-Match")), "W/"), `"`)
	if raw == "" {
		return 0, apperr.New(apperr.PreconditionNeeded, "precondition_required", "send If-Match with the ETag you read")
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < 1 { // versions start at 1
		return 0, apperr.New(apperr.PreconditionFailed, "precondition_failed", "If-Match is not an ETag this server issued")
	}
	return v, nil
}

// IfMatchVersionOptional is IfMatchVersion for changes whose state machine
// already refuses a lost race: -1 when the client sent no If-Match.
func IfMatchVersionOptional(c *gin.Context) (int, error) {
	if strings.TrimSpace(c.GetHeader("If-Match")) == "" {
		return -1, nil
	}
	return IfMatchVersion(c)
}
