// Package configs holds the default configuration files, embedded in the binary
// so that it runs with sane defaults from any directory.
package configs

import _ "embed"

// DefaultYAML is configs/ansinh.yaml as shipped.
//
//go:embed ansinh.yaml
var DefaultYAML []byte

// CasbinModel is the access-control model (configs/casbin_model.conf).
//
//go:embed casbin_model.conf
var CasbinModel string

// CasbinPolicy is the role policy (configs/casbin_policy.csv).
//
//go:embed casbin_policy.csv
var CasbinPolicy string
