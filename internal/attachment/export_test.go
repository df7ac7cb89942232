package attachment

import "net/http"

// ServeTusErrorForTest writes what tusd writes for an error (its status,
// then "ERR_CODE: message") through the problem writer the handlers use.
func ServeTusErrorForTest(w http.ResponseWriter, r *http.Request, status int, body string) {
	pw := &problemWriter{ResponseWriter: w, r: r}
	pw.WriteHeader(status)
	_, _ = pw.Write([]byte(body))
	pw.finish()
}
