// Package configs holds the default configuration files, embedded in the binary
// so that it runs with sane defaults from any directory.
package configs

import _ "embed"

// DefaultYAML is configs/ansinh.yaml as shipped.
//
//go:embed ansinh.yaml
var DefaultYAML []byte
