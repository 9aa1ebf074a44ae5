package history

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentAddAndRoundTrip(t *testing.T) {
	h := New()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				h.Add(Op{Kind: KindMessage, User: "u", Status: 200, Start: time.Unix(int64(i), 0).UTC(), End: time.Unix(int64(i), 1).UTC()})
			}
		}()
	}
	wg.Wait()
	if h.Len() != 400 {
		t.Fatalf("len %d, want 400", h.Len())
	}
	seen := map[int64]bool{}
	for _, op := range h.Ops() {
		if seen[op.Seq] {
			t.Fatalf("duplicate seq %d", op.Seq)
		}
		seen[op.Seq] = true
	}
	var buf bytes.Buffer
	if err := h.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "\n"); got != 400 {
		t.Fatalf("%d lines, want 400", got)
	}
	back, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a, b := h.Ops(), back.Ops()
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Fatalf("op %d differs after round trip: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestReadJSONLNamesBadLine(t *testing.T) {
	_, err := ReadJSONL(strings.NewReader("{\"kind\":\"create\"}\n{oops\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want error naming line 2, got %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	var ops []Op
	base := time.Unix(100, 0)
	for i := 0; i < 20; i++ {
		ops = append(ops, Op{Seq: int64(i), End: base.Add(time.Duration(i) * time.Second)})
	}
	ex := Excerpt(ops, base.Add(10*time.Second), 4)
	if len(ex) != 4 || !strings.Contains(ex[0], "\"seq\":8") || !strings.Contains(ex[3], "\"seq\":11") {
		t.Fatalf("excerpt around seq 10: %v", ex)
	}
}
