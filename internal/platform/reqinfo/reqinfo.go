// Package reqinfo carries facts about the current request (its id, the
// client's address and agent, the matched route) in a context.Context, so that
// services and the audit trail can record them without importing HTTP code.
package reqinfo

import "context"

// Info describes the request a piece of work runs for.
type Info struct {
	RequestID string
	ClientIP  string
	UserAgent string
	Route     string // route template, e.g. GET /api/v1/households/:id
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request info in ctx; the zero Info outside a request (CLI jobs).
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}
