package handlers

import (
	"io"
	"net/http"
)

// readBody reads at most limit bytes of a request body.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
}
