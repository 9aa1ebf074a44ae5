package cache

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzWarmupDecode: any body either fails to decode or yields only valid entries that
// survive a re-encode unchanged; it never panics.
func FuzzWarmupDecode(f *testing.F) {
	for _, seed := range []string{
		`{"from":"us-east-1","entries":[{"key":"respcache:m:abc","value":"v","age_ms":10,"ttl_ms":60000}]}`,
		`{"from":"us-east-1","entries":[]}`,
		`{"from":"","entries":null}`,
		`{"from":"x","entries":[{"key":"respcache:","value":"","age_ms":-1,"ttl_ms":0}]}`,
		`{"from":"x","entries":[{"key":"other","value":"v","age_ms":1,"ttl_ms":1}]}`,
		`{"from":"x","entries":[],"extra":true}`,
		`{"from":"x","entries":[{"key":"respcache:k","value":"v","age_ms":1.5,"ttl_ms":1}]}`,
		`{"from":"x","entries":[{"key":"respcache:k","value":"v","age_ms":9223372036854775807,"ttl_ms":1}]}`,
		`{"from":"x","entries":[{"key":"respcache:k","value":"v","age_ms":1,"ttl_ms":1000000000000}]}`,
		`{"from":"x"} {"from":"y"}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeWarmup(body)
		if err != nil {
			return
		}
		if req.From == "" {
			t.Fatal("accepted an empty from")
		}
		for i, e := range req.Entries {
			if !strings.HasPrefix(e.Key, KeyPrefix) || e.AgeMs < 0 || e.AgeMs > maxWireMs || e.TTLMs <= 0 || e.TTLMs > maxWireMs {
				t.Fatalf("accepted invalid entry %d: %+v", i, e)
			}
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := decodeWarmup(again)
		if err != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("re-decode = %+v, %v; want %+v", req2, err, req)
		}
	})
}
