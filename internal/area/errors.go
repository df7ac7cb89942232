package area

import "github.com/ansinh/ansinh/internal/platform/apperr"

// errNotFound is the answer for a code no area has (area_not_found, which
// the areas' consumers turn into their own 422).
func errNotFound(code string) error {
	return apperr.New(apperr.NotFound, "area_not_found", "no administrative area %s", code)
}
