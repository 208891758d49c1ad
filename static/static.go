// Package static embeds the CSS, the vendored htmx and the images, and
// gives each a cache-busting URL.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
)

//go:embed css js
var FS embed.FS

// URL is the path of an embedded file with a hash of its content, so that
// it can be cached forever.
func URL(name string) string {
	b, err := FS.ReadFile(name)
	if err != nil {
		return "/static/" + name
	}
	sum := sha256.Sum256(b)
	return "/static/" + name + "?v=" + hex.EncodeToString(sum[:4])
}
