package traffic

import (
	"crypto/sha256"
	"encoding/base64"
)

// SessionTokenHeader carries a session's owner token on every call after
// its creation (the runtime answers 404 to anyone else).
const SessionTokenHeader = "X-Session-Token"

// SessionToken is the owner token the harness's users present for session:
// derived from the id, so every client of a run (users, the final
// read-back, checklist specs) holds it without sharing state. The runtime
// stores only its hash; it cannot tell a derived token from a random one.
func SessionToken(session string) string {
	sum := sha256.Sum256([]byte("failover-harness session token\n" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
