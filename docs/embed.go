// Package docs embeds the OpenAPI document, the API contract that mobile
// clients generate their code from. The server serves it at /openapi.yaml.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
