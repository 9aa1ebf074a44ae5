package check

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
)

// benchSizes are the history sizes of issue 14 item 5. Run the 10^6 size
// with -benchtime=1x (building its history takes a few seconds, once).
var benchSizes = []int{10_000, 100_000, 1_000_000}

// benchSink keeps results alive.
var benchSink any

// benchCheckers is every exported checker that reads a history or per-op
// (or per-transition, per-alert) input, on a generated run.
var benchCheckers = []struct {
	name string
	run  func(g *genRun, l Loss) any
}{
	{"Acks", func(g *genRun, _ Loss) any { return Acks(g.Ops) }},
	{"Lost", func(g *genRun, _ Loss) any { return Lost(g.Ops, g.Final, g.Max, g.Reported, g.TTL) }},
	{"LostAcked", func(_ *genRun, l Loss) any { return LostAcked(l) }},
	{"RPO", func(_ *genRun, l Loss) any { return RPO(l, bounds.RPOFor("periodic", 200*time.Millisecond)) }},
	{"NoSilentOverwrite", func(g *genRun, l Loss) any { return NoSilentOverwrite(l, g.Reported, "last-write-wins") }},
	{"VersionsMonotonic", func(g *genRun, _ Loss) any { return VersionsMonotonic(g.Ops) }},
	{"Linearizable", func(g *genRun, _ Loss) any { return Linearizable(g.Ops, LinearizableOptions{MaxMessages: g.Max}) }},
	{"AcksDurable", func(g *genRun, _ Loss) any {
		return AcksDurable(g.Ops, "periodic", 200*time.Millisecond, 200*time.Millisecond)
	}},
	{"RTO", func(g *genRun, _ Loss) any { return RTO(g.Ops, g.Fault.Start, g.Until, genBound(5*time.Second)) }},
	{"ErrorRate", func(g *genRun, _ Loss) any { return ErrorRate(g.Ops, g.Calm, g.Until, 0.01, DefaultFalseAlarm) }},
	{"EveryUserContinues", func(g *genRun, _ Loss) any { return EveryUserContinues(g.Ops, g.Fault.Start) }},
	{"NoTrafficAfterDown", func(g *genRun, _ Loss) any {
		return NoTrafficAfterDown(g.Ops, genDown, g.Marked, genBound(genInflight))
	}},
	{"ServedOnlyBy", func(g *genRun, _ Loss) any { return ServedOnlyBy(g.Ops, "eu-west", g.Calm) }},
	{"WeightSplit", func(g *genRun, _ Loss) any { return WeightSplit(g.Ops, g.Weights, DefaultFalseAlarm) }},
	{"MarkedAt", func(g *genRun, _ Loss) any { return MarkedAt(g.LB, genDown, g.Fault.Start, false) }},
	{"DetectionTime", func(g *genRun, _ Loss) any {
		return DetectionTime(g.Fault, g.LB, genDown, false, genBound(2*time.Second))
	}},
	{"ReturnedAt", func(g *genRun, _ Loss) any { return ReturnedAt(g.LB, genDown, g.Heal.Start) }},
	{"FailbackTime", func(g *genRun, _ Loss) any {
		return FailbackTime(g.Heal, g.LB, genDown, g.LBInRotation, genBound(2*time.Second))
	}},
	{"NoFlapping", func(g *genRun, _ Loss) any { return NoFlapping(g.LB, genDown, g.Heal.Start, 10) }},
	{"RouterFailback", func(g *genRun, _ Loss) any {
		a, b := RouterFailback(g.Heal, g.Views, genDown, genBound(2*time.Second), 10)
		return [2]Result{a, b}
	}},
	{"AlertReceived", func(g *genRun, _ Loss) any {
		return AlertReceived(g.Alerts, genAlert, g.Fault, genBound(2*time.Second))
	}},
	{"AlertOnce", func(g *genRun, _ Loss) any { return AlertOnce(g.Alerts, genAlert, g.Fault.Start, 10) }},
	{"AlertResolved", func(g *genRun, _ Loss) any {
		return AlertResolved(g.Alerts, genAlert, g.Fault.Start, g.Heal.End, genBound(2*time.Second))
	}},
	{"Resolved", func(g *genRun, _ Loss) any { return Resolved(g.Alerts, genAlert, g.Fault.Start) }},
}

// BenchmarkCheckers times each checker alone on generated runs of 10^4,
// 10^5 and 10^6 operations. The Loss-taking checkers get Lost's result,
// computed outside the timer.
func BenchmarkCheckers(b *testing.B) {
	for _, c := range benchCheckers {
		b.Run(c.name, func(b *testing.B) {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					g := genFor(n)
					l := Lost(g.Ops, g.Final, g.Max, g.Reported, g.TTL)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						benchSink = c.run(g, l)
					}
				})
			}
		})
	}
}

// BenchmarkFullCheck runs every checker of a row on one generated run and
// judges, as a row does.
func BenchmarkFullCheck(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			g := genFor(n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, v := fullCheck(g)
				benchSink = v
				benchSink = res
			}
		})
	}
}
