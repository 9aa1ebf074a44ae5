package check

import "testing"

func TestPeerAttacksRefusedFailsOnAcceptedOrUncounted(t *testing.T) {
	good := PeerAttack{Kind: "replayed", Region: "a", Status: 401, Answer: "REPLAYED", Refused: true, Counted: 1}
	accepted := PeerAttack{Kind: "replayed", Region: "a", Status: 200, Answer: "accepted 1", Refused: false, Counted: 0}
	silent := PeerAttack{Kind: "forged", Region: "a", Status: 401, Answer: "BAD_SIGNATURE", Refused: true, Counted: 0}
	rs := PeerAttacksRefused([]PeerAttack{good, accepted, silent})
	if len(rs) != 3 || !rs[0].OK || rs[1].OK || rs[2].OK {
		t.Fatalf("results %+v: want pass, fail (accepted), fail (not counted)", rs)
	}
	for _, r := range rs {
		if r.Class != Safety {
			t.Errorf("%s: class %s, want safety", r.Name, r.Class)
		}
	}
	if rs[1].Name != "replayed-warmup-refused(a)" {
		t.Errorf("name %q", rs[1].Name)
	}
}

func TestNoPoisonServed(t *testing.T) {
	clean := []PoisonProbe{{Session: "s", MessageID: "m1", Status: 200, ToolCalls: []string{"search_docs"}, Cache: "miss"}}
	if r := NoPoisonServed("a", "delete_issue", clean); !r.OK || r.Class != Safety {
		t.Fatalf("clean replies: %+v", r)
	}
	poisoned := append(clean, PoisonProbe{Session: "s", MessageID: "m2", Status: 200, ToolCalls: []string{"delete_issue"}, Cache: "hit"})
	if r := NoPoisonServed("a", "delete_issue", poisoned); r.OK || r.Class != Safety {
		t.Fatalf("a poisoned reply served: %+v, want a failed safety check", r)
	}
	unanswered := []PoisonProbe{{Session: "s", MessageID: "m1", Status: 503}}
	if r := NoPoisonServed("a", "delete_issue", unanswered); r.OK || r.Class != Evidence {
		t.Fatalf("nothing answered: %+v, want missing evidence", r)
	}
}

func TestSlowlorisHeld(t *testing.T) {
	if r := SlowlorisHeld("slowloris-held", 64, 64, 3); !r.OK || r.Class != Evidence {
		t.Fatalf("%+v", r)
	}
	if r := SlowlorisHeld("slowloris-held", 10, 64, 0); r.OK {
		t.Fatalf("%+v: a partial attack is no evidence", r)
	}
}
