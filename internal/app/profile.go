package app

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/ansinh/ansinh/internal/config"
)

// startProfiles starts the CPU profile named by ANSINH_DEBUG_CPUPROFILE and
// arranges the allocation profile named by ANSINH_DEBUG_MEMPROFILE, both
// written when serve stops: the load harness profiles the server as a
// process of its own. Refused in production. The returned function writes
// them.
func startProfiles(cfg *config.Config) (func(), error) {
	cpu, mem := os.Getenv("ANSINH_DEBUG_CPUPROFILE"), os.Getenv("ANSINH_DEBUG_MEMPROFILE")
	if cpu == "" && mem == "" {
		return func() {}, nil
	}
	if cfg.IsProduction() {
		return nil, fmt.Errorf("ANSINH_DEBUG_CPUPROFILE and ANSINH_DEBUG_MEMPROFILE are for development: production refuses them")
	}
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		cpuFile = f
	}
	return func() {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}, nil
}
