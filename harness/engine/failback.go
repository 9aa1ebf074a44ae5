package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/history"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/harness/traffic"
)

// watchRounds is how many LB health rounds a failback is watched for flaps
// after the return.
const watchRounds = 5

// Heal runs heal and returns when it was healed (between the start of the
// heal and its return).
func (r *Run) Heal(ctx context.Context, heal HealFunc) (check.Heal, error) {
	h := check.Heal{Start: time.Now()}
	err := heal(ctx)
	h.End = time.Now()
	r.Out.EventAt("healed", h.End)
	return h, err
}

// LBFailbackBound is the LB failback bound for region: the success rounds,
// plus, when the region was ejected since the first fault, the ejection,
// which may begin up to one per-try timeout after the heal.
func (r *Run) LBFailbackBound(ejected bool) bounds.Duration {
	hc := r.Spec.LBHealth
	var ej bounds.Ejection
	if ejected && r.Spec.Outlier.Enabled {
		ej = bounds.Ejection{For: r.Spec.Outlier.Ejection, Late: r.Spec.Retry.PerTryTimeout}
	}
	return bounds.LBFailback(bounds.Probe{Interval: hc.Interval, Timeout: hc.Timeout, Threshold: hc.SuccessThreshold}, ej, r.Allow())
}

// RouterFailbackBound is how long the regions' routers may take to see a
// healed peer active again.
func (r *Run) RouterFailbackBound() bounds.Duration {
	p := bounds.Probe{Interval: r.Spec.RegionHealthInterval, Timeout: r.Spec.RegionHealthTimeout, Threshold: r.Spec.RegionHealthyThreshold}
	return bounds.RegionFailback(p, r.Allow())
}

// Failback judges the regions' return after h, in the LB and in every
// region's router: when each took them back (failback-time against the LB
// bound, router-failback against the routers'), and whether they stayed
// (no-flapping, router-no-flapping), watched for a few LB health rounds
// after both had them back. Times come from the LB's and the routers' own
// logs, dated by age on their own clocks. TrafficReturns is the row's last
// step, after its users' sessions were read back (they must not idle past
// their TTL meanwhile).
func (r *Run) Failback(ctx context.Context, h check.Heal, regions ...string) {
	routerBound := r.RouterFailbackBound()
	// The wait allows for an ejection; whether one applied is read after
	// it (an ejection may begin after the heal).
	worst := r.LBFailbackBound(true)
	_ = r.WaitIn(ctx, MarkDeadline(worst), regions...)
	_ = r.Wait(ctx, MarkDeadline(routerBound), "every router to see "+strings.Join(regions, ",")+" active", func() bool {
		for _, v := range r.Routers(ctx) {
			for _, reg := range regions {
				if v.Status(reg) != "active" {
					return false
				}
			}
		}
		return true
	})
	watched := r.WaitRounds(ctx, watchRounds, "the LB to run its rounds after the return")

	st, err := r.LBStatus(ctx)
	if err != nil {
		r.Out.Add(check.Live("failback-read", false, 0, "read the LB status after the heal: %v", err))
		return
	}
	ejected := ejectedAfter(st.Transitions, h.Start)
	views := r.Routers(ctx)
	for _, reg := range regions {
		r.Out.Add(check.FailbackTime(h, st.Transitions, reg, st.AllInRotation(reg), r.LBFailbackBound(ejected[reg])))
		r.Out.Add(check.NoFlapping(st.Transitions, reg, h.Start, watched))
		fb, flap := check.RouterFailback(h, views, reg, routerBound, watched)
		r.Out.Add(fb)
		r.Out.Add(flap)
	}
	r.keep("routers.json", views)
}

// returnSessions is how many new sessions TrafficReturns opens: the unit of
// the split (routing is sticky per session). At 50/30/20 a region left out
// of rotation (0 of ~75 expected at 30 %) is rejected with p far below any
// sane false-alarm rate; the rate itself is the run's alpha.
const returnSessions = 250

// TrafficReturns opens new sessions through the LB once the regions are
// back and judges their split against the configured weights
// (traffic-returns-to-weights): after a failback every region takes its
// share again.
func (r *Run) TrafficReturns(ctx context.Context) {
	cl := traffic.NewClient(traffic.Config{LBURL: r.Cluster.LBURL(), RequestTimeout: 2 * time.Second, Seed: r.Spec.Seed}, r.History)
	prefix := fmt.Sprintf("s-return-%d-", r.Spec.Seed)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 4 { // a few at a time: bounded, and quick on two cores
		wg.Go(func() {
			for i := range work {
				cl.CreateSession(ctx, history.KindCreate, fmt.Sprintf("return-%d", i), "", fmt.Sprintf("%s%d", prefix, i))
			}
		})
	}
	for i := 0; i < returnSessions && ctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	var ops []history.Op
	for _, op := range r.History.Ops() {
		if strings.HasPrefix(op.Session, prefix) {
			ops = append(ops, op)
		}
	}
	res := check.WeightSplit(ops, r.Spec.Weights(), r.Env.Alpha())
	res.Name = "traffic-returns-to-weights"
	r.Out.Add(res)
}

// ejectedAfter names the regions an ejection kept out of rotation at some
// moment at or after heal: only those wait one out.
func ejectedAfter(ts []topology.Transition, heal time.Time) map[string]bool {
	out := map[string]bool{}
	open := map[string]bool{} // region -> inside an ejection
	for _, t := range ts {
		switch {
		case t.To == "ejected":
			open[t.Region] = true
		case t.From == "ejected" && open[t.Region]:
			open[t.Region] = false
			if !t.At.Before(heal) {
				out[t.Region] = true
			}
		}
	}
	for reg, o := range open {
		if o {
			out[reg] = true // still ejected when read
		}
	}
	return out
}

// Routers reads every region's router (GET /regions), clock aligned; a
// region that cannot be read is listed with no view, so a check over them
// names it.
func (r *Run) Routers(ctx context.Context) []topology.RouterStatus {
	regions := r.Cluster.Regions()
	out := make([]topology.RouterStatus, len(regions))
	token := r.Cluster.AdminToken()
	cl := &http.Client{Timeout: 2 * time.Second} // a region busy failing over may answer slowly
	var wg sync.WaitGroup
	for i, rg := range regions {
		wg.Go(func() {
			st, err := topology.ReadRouter(ctx, cl, rg, token)
			if err != nil {
				st = topology.RouterStatus{Self: rg.Name}
			}
			out[i] = st
		})
	}
	wg.Wait()
	return out
}

// keep writes v as JSON with the row's files, when it keeps any.
func (r *Run) keep(name string, v any) {
	if r.Spec.RunDir == "" {
		return
	}
	if b, err := json.MarshalIndent(v, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(r.Spec.RunDir, name), b, 0o644)
	}
}

// UsersReturn sends one more message in each session the row's users
// opened, after the failback, retrying for up to deadline: every user must
// be served again, and the loss checks that follow read these messages back
// with the rest. It adds the every-user-served-after-failback result.
func (r *Run) UsersReturn(ctx context.Context, sessions []string, deadline time.Duration) {
	owner := map[string]string{}
	for _, op := range r.UserOps() {
		if op.Session != "" && op.User != "" {
			owner[op.Session] = op.User
		}
	}
	cl := traffic.NewClient(traffic.Config{LBURL: r.Cluster.LBURL(), RequestTimeout: 2 * time.Second, Seed: r.Spec.Seed}, r.History)
	var mu sync.Mutex
	served, tried := 0, 0
	var failed []string
	var wg sync.WaitGroup
	for i, s := range sessions {
		user := owner[s]
		if user == "" {
			continue
		}
		tried++
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("m-%s-back-%d", user, i)
			var last history.Op
			err := WaitFor(ctx, deadline, "a message of "+user+" after the failback", func() bool {
				last = cl.SendMessage(ctx, user, "", s, id)
				return last.OK() || last.Status == http.StatusGone // an expired session is its own row's concern
			})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				served++
			} else {
				failed = append(failed, fmt.Sprintf("%s (last: %d %s)", user, last.Status, last.Code))
			}
		}()
	}
	wg.Wait()
	res := check.Live("every-user-served-after-failback", len(failed) == 0, float64(served), "%d of %d users were served again after the failback", served, tried)
	if len(failed) > 0 {
		res.Reason += fmt.Sprintf("; not served within %s: %v", deadline, failed)
	}
	r.Out.Add(res)
}

// AlertResolveBound is how long after a region's return on-call may wait
// for the resolved notification: the LB syncs its alert after every health
// round, so one round, plus, through an Alertmanager, its group_interval
// (bounds.LBAlertResolve).
func (r *Run) AlertResolveBound() bounds.Duration {
	return bounds.LBAlertResolve(r.LBProbe(), r.Alertmanager(), r.Allow())
}

// AlertBound is how long after the condition began (the last region's
// failure) on-call may wait for the LB's first notification: the detection
// bound plus, through an Alertmanager, its group_wait (bounds.LBAlert).
func (r *Run) AlertBound() bounds.Duration {
	return bounds.LBAlert(r.LBProbe(), r.Alertmanager(), r.Allow())
}

// Alertmanager is the spec's Alertmanager as its bounds see it: zero when
// alerts reach on-call without one.
func (r *Run) Alertmanager() bounds.Alertmanager {
	if !r.Spec.Alertmanager || !r.Spec.AlertsEnabled {
		return bounds.Alertmanager{}
	}
	return bounds.Alertmanager{GroupWait: r.Spec.AlertGroupWait, GroupInterval: r.Spec.AlertGroupInterval}
}
