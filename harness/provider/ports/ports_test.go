package ports

import "testing"

// Free never hands out one port twice while it may still be waiting for its
// child to bind it (500 random picks below the ephemeral range would repeat
// one almost surely otherwise).
func TestFreeNeverRepeatsRecentPorts(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 500; i++ {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice within 500 picks", p)
		}
		seen[p] = true
	}
}

func TestClaimForgetsTheOldest(t *testing.T) {
	r := &recentPorts{seen: map[int]bool{}}
	for p := 0; p < 4097; p++ {
		if !r.claim(p) {
			t.Fatalf("port %d refused on first claim", p)
		}
	}
	if !r.claim(0) || r.claim(4096) {
		t.Fatal("want the oldest claim forgotten after 4096 more, the newest kept")
	}
}
