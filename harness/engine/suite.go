package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentops/failover-harness/harness/bounds"
	"github.com/agentops/failover-harness/harness/check"
	"github.com/agentops/failover-harness/harness/config"
	"github.com/agentops/failover-harness/harness/fault"
	"github.com/agentops/failover-harness/harness/journal"
	"github.com/agentops/failover-harness/harness/provider"
	"github.com/agentops/failover-harness/harness/target"
	"github.com/agentops/failover-harness/harness/timing"
	"github.com/agentops/failover-harness/harness/topology"
	"github.com/agentops/failover-harness/reports"
)

// SuiteOptions are the knobs of a whole plan run.
type SuiteOptions struct {
	Seed       int64  // 0: NewSeed (printed)
	Provider   string // local | docker | auto
	Images     string // docker image set: upstream | local | auto
	ConfigPath string // failover config YAML; empty: built-in defaults
	// Target is the target file of provider external (harness/target).
	Target string
	// Journal is the heal journal of provider external; empty: none kept.
	Journal string
	// Stop aborts and heals a row whose harm passes these limits.
	Stop      StopConditions
	TimeScale float64
	Command   string // how the user started the run, for the replay line
	Log       io.Writer
	Progress  io.Writer
	// Out is the output folder: each spec's files go to Out/artifacts/<spec>
	// and are removed when it passes (unless Keep). Empty: temporary folders.
	Out  string
	Keep bool
	// RetryInconclusive reruns an inconclusive spec up to this many times,
	// each with a fresh seed derived from the run's.
	RetryInconclusive int
	// Slack is the scheduling allowance of every liveness bound (0: DefaultSlack).
	Slack time.Duration
	// Alertmanager routes the alerts through a real Alertmanager
	// (topology.Spec.Alertmanager, its intervals the spec's defaults): the
	// alert rows judge what it notifies on-call.
	Alertmanager bool
	// Prometheus runs a Prometheus in the topology (topology.Spec.Prometheus)
	// scraping every region and the LB; PromQL probes need it.
	Prometheus bool
}

// Suite is a configured plan run: provider, seed, base spec, and the outcomes so far.
type Suite struct {
	Seed           int64
	Provider       topology.Provider
	ProviderReason string
	Base           topology.Spec
	TimeScale      float64
	Config         map[string]any
	Command        string
	// Policy is the config's objectives and estimate; nil: none.
	Policy *config.Policy
	// probes and stopWhen are the config's PromQL probes and stop conditions.
	probes, stopWhen []config.Probe
	// Timing measures the harness's own lag for every spec of the run.
	Timing  *timing.Monitor
	journal *journal.Journal
	log     io.Writer
	opts    SuiteOptions

	mu       sync.Mutex
	outcomes map[string]*Outcome
	runs     map[string]specRun
}

// specRun is how a spec's attempts went.
type specRun struct {
	attempts int
	seed     int64
	dir      string
}

// SuiteDefaults is the built-in configuration the plan runs against:
// the recommended failover settings, time-compressed so a row takes seconds.
func SuiteDefaults() topology.Spec {
	s := topology.DefaultSpec()
	s.SessionTTL = 3 * time.Second // row 7 must outlive it quickly; active users refresh it
	s.Retry.PerTryTimeout = 400 * time.Millisecond
	s.Outlier.Ejection = 800 * time.Millisecond
	return s
}

// NewSuite picks the provider, the seed and the base spec. Close stops
// what it started.
func NewSuite(ctx context.Context, o SuiteOptions) (*Suite, error) {
	s := &Suite{log: o.Log, outcomes: map[string]*Outcome{}, runs: map[string]specRun{}, TimeScale: 1, Command: o.Command, opts: o}
	seed := o.Seed
	if seed < 0 {
		return nil, fmt.Errorf("seed: %d is not a positive integer", seed)
	}
	if err := o.Stop.Validate(); err != nil {
		return nil, err
	}
	if seed == 0 {
		seed = NewSeed()
	}
	s.Seed = seed
	var err error
	// An external target names the config that describes it and the time
	// scale it runs at: the harness judges by what is deployed.
	var tf *target.File
	configPath, fixedScale := o.ConfigPath, 0.0
	switch {
	case o.Provider == "external" && o.Target == "":
		return nil, errors.New("provider external: a target file is required (--target FILE)")
	case o.Provider == "external":
		if o.ConfigPath != "" {
			return nil, fmt.Errorf("config: the target file %s names the deployment's config (its config: field); give it there, not as --config", o.Target)
		}
		if tf, err = target.Load(o.Target); err != nil {
			return nil, err
		}
		configPath, fixedScale = tf.ConfigPath(), tf.Scale()
	case o.Target != "":
		return nil, fmt.Errorf("target: applies to --provider external only (provider %q)", o.Provider)
	}
	if configPath != "" {
		c, issues, err := config.Load(configPath)
		if err != nil {
			return nil, err
		}
		if config.HasErrors(issues) {
			var b strings.Builder
			config.Describe(&b, c, issues)
			return nil, fmt.Errorf("%s is not valid:\n%s", configPath, b.String())
		}
		s.Policy = c.Policy() // objectives are real time: from the unscaled config
		s.probes, s.stopWhen = c.Probes, c.StopWhen
		k, floor, calib := fixedScale, "", "the deployment's own (target time_scale)"
		if k == 0 {
			if k, floor, calib, err = ScaleFor(ctx, c, o.TimeScale, o.Progress); err != nil {
				return nil, err
			}
		}
		s.Base = SpecFromConfig(c.Scaled(k))
		s.TimeScale = k
		s.Config = configSummary(c, s.Base, k, configPath)
		if floor != "" {
			s.Config["timing.timeout_floor"] = floor
		}
		s.Config["timing.calibration"] = calib
	} else {
		s.Base = SuiteDefaults()
		s.Config = specSummary(s.Base)
	}
	if len(s.probes)+len(s.stopWhen) > 0 {
		s.Base.Prometheus = true // the probes are judged against the topology's Prometheus
	}
	if o.Alertmanager {
		s.Base.Alertmanager = true
		w := s.Base.WithDefaults()
		s.Config["alert.alertmanager"] = fmt.Sprintf("group_wait %v, group_interval %v, repeat_interval %v, resend %v",
			w.AlertGroupWait, w.AlertGroupInterval, w.AlertRepeatInterval, w.AlertResend)
	}
	if o.Prometheus || s.Base.Prometheus {
		s.Base.Prometheus = true
		s.Config["prometheus"] = fmt.Sprintf("scrape and rule evaluation every %v", s.Base.WithDefaults().ScrapeInterval)
	}
	s.Config["timing.slack"] = s.slack().String()
	s.Base.Seed = seed
	ch := provider.Choice{Name: o.Provider, Images: o.Images, Progress: o.Progress, Target: tf, Base: s.Base}
	if tf != nil && o.Journal != "" {
		if s.journal, err = journal.Open(o.Journal); err != nil {
			return nil, err
		}
		ch.Journal = s.journal
		progressf(o.Progress, "chaos: heal journal %s (after a crash: chaos heal --journal %s)", o.Journal, o.Journal)
	}
	s.Provider, s.ProviderReason, err = provider.Choose(ctx, ch)
	if err != nil {
		return nil, errors.Join(err, s.closeJournal())
	}
	if s.Command == "" {
		s.Command = fmt.Sprintf("make chaos SEED=%d", seed)
		if o.ConfigPath != "" {
			s.Command = fmt.Sprintf("go run ./cmd/chaos run --config %s --seed %d", o.ConfigPath, seed)
		}
	}
	s.Timing = timing.Start(0, 0)
	return s, nil
}

// Close stops the suite's timing monitor and closes the heal journal: it
// is removed when nothing is left injected, and the error says when
// something is (run chaos heal).
func (s *Suite) Close() error {
	if s.Timing != nil {
		s.Timing.Stop()
		s.Timing = nil
	}
	return s.closeJournal()
}

func (s *Suite) closeJournal() error {
	if s.journal == nil {
		return nil
	}
	j := s.journal
	s.journal = nil
	return j.Close()
}

// ScaleFor is how much a config's intervals are compressed on this
// machine: the requested scale (0: the most the config allows), never
// compressing a timeout below what the machine honours now. It returns the
// floor and the calibration, for the run record.
func ScaleFor(ctx context.Context, c *config.Config, requested float64, progress io.Writer) (k float64, floor, calibration string, err error) {
	cal, err := timing.Calibrate(ctx, 300*time.Millisecond)
	if err != nil {
		return 0, "", "", fmt.Errorf("calibrate timing: %w", err)
	}
	rule := config.DefaultScaleRule
	rule.MinScaledTimeout = cal.TimeoutFloor(rule.MinScaledTimeout)
	most := config.TimeScaleFor(c, config.ScaleRule{MinScaledTimeout: rule.MinScaledTimeout})
	k = requested
	switch {
	case k <= 0:
		k = config.TimeScaleFor(c, rule)
	case k > most:
		progressf(progress, "chaos: --time-scale %g would compress a timeout below %s, the shortest this machine honours now (timer lag %s, round trip %s); using %g",
			k, rule.MinScaledTimeout, cal.TimerLag, cal.RTT, most)
		k = most
	}
	return k, rule.MinScaledTimeout.String(), fmt.Sprintf("timer lag %s, local round trip %s (%d samples)", cal.TimerLag, cal.RTT, cal.Samples), nil
}

func (s *Suite) slack() time.Duration {
	if s.opts.Slack > 0 {
		return s.opts.Slack
	}
	return DefaultSlack
}

func progressf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// NewSeed picks a fresh run seed in [1, 2^31-1]: the one formula every
// command uses, small enough to type back in a replay line.
func NewSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return int64(binary.LittleEndian.Uint64(b[:])%(1<<31-1)) + 1
}

// ParseSeed reads a seed flag: empty is a fresh seed, else a positive integer.
func ParseSeed(v string) (int64, error) {
	if v == "" {
		return NewSeed(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("seed: %q is not a positive integer", v)
	}
	return n, nil
}

// Env returns the environment for one attempt of a spec; deferFn registers
// heals. Attempt 0 runs with the suite's seed, later ones (retries of an
// inconclusive run) with fresh seeds derived from it.
func (s *Suite) Env(row Row, attempt int, deferFn func(name string, heal HealFunc)) *Env {
	spec := s.Base
	spec.Seed = AttemptSeed(s.Seed, attempt)
	e := &Env{Provider: s.Provider, Spec: spec, Defer: deferFn, Log: s.log, TimeScale: s.TimeScale, MaxMessages: 50,
		Timing: s.Timing, Slack: s.slack(), Policy: s.Policy, Stop: s.opts.Stop}
	if s.opts.Out != "" {
		e.RunDir = filepath.Join(s.opts.Out, "artifacts", SpecSlug(row, attempt))
	}
	e.Probes, e.StopWhen = rowProbes(s.probes, row.Label), rowProbes(s.stopWhen, row.Label)
	return e
}

// AttemptSeed is the seed of a spec's attempt: the run's seed first, then
// fresh ones that a replay of the run derives the same way.
func AttemptSeed(seed int64, attempt int) int64 {
	if attempt == 0 {
		return seed
	}
	return (seed*6364136223846793005+int64(attempt)*1442695040888963407)&(1<<31-1) + 1
}

// SpecSlug names a spec's artifact folder.
func SpecSlug(row Row, attempt int) string {
	name := row.Label
	if row.N == 0 {
		// The first words, and a hash of the whole text: specs that begin
		// alike (a row run with its clock ahead, then behind) keep apart.
		words := strings.Fields(row.Spec)
		h := fnv.New32a()
		h.Write([]byte(row.Spec))
		name += "-" + strings.Join(words[:min(4, len(words))], "-") + fmt.Sprintf("-%06x", h.Sum32()&0xffffff)
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, name)
	if attempt > 0 {
		name += fmt.Sprintf("-retry%d", attempt)
	}
	return name
}

// Record keeps a spec's final outcome for the run record, with how many
// attempts it took and the seed of the last.
func (s *Suite) Record(o *Outcome, attempts int, seed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[o.Name] = o
	dir := o.RunDir
	if o.Passed() && !s.opts.Keep {
		dir = ""
	}
	s.runs[o.Name] = specRun{attempts: attempts, seed: seed, dir: dir}
}

// Outcome returns the recorded outcome of the spec called name (its last
// attempt), nil when none was recorded.
func (s *Suite) Outcome(name string) *Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcomes[name]
}

// Tidy removes an attempt's files once its topology is torn down, unless
// they are evidence: kept for a spec that did not pass (or with Keep). A
// retried attempt's files go too; the last attempt speaks for the spec.
func (s *Suite) Tidy(o *Outcome) {
	if o == nil || o.RunDir == "" || s.opts.Out == "" || s.opts.Keep {
		return
	}
	s.mu.Lock()
	kept := false
	if run, ok := s.outcomes[o.Name]; ok && run == o && !o.Passed() {
		kept = true
	}
	s.mu.Unlock()
	if !kept {
		_ = os.RemoveAll(o.RunDir)
	}
}

// Once makes a heal idempotent, so a heal run early (before a retry) is a
// no-op when the registered cleanup runs it again.
func Once(h HealFunc) HealFunc { return HealFunc(fault.Once(h)) }

// Retries is how many times an inconclusive spec is rerun.
func (s *Suite) Retries() int { return max(s.opts.RetryInconclusive, 0) }

// Verdict turns a row's outcome (and the error it stopped with) into the
// spec's verdict and reason.
func Verdict(o *Outcome, err error) (reports.Verdict, string) {
	switch {
	case o == nil && err != nil:
		return reports.Failed, err.Error()
	case o == nil:
		return reports.Failed, "no outcome"
	}
	switch o.Verdict {
	case check.Passed:
		return reports.Passed, ""
	case check.Inconclusive:
		return reports.Inconclusive, o.Why
	case check.Skipped:
		return reports.Skipped, o.Why
	}
	return reports.Failed, o.Why
}

// SpecResult is the verdict of one spec as the runner saw it.
type SpecResult struct {
	Name     string
	Labels   []string
	Row      int
	Expected string
	Verdict  reports.Verdict
	Duration time.Duration
	Failure  string
}

// BuildRecord assembles run.json from the runner's verdicts and the outcomes.
func (s *Suite) BuildRecord(results []SpecResult, started time.Time) *reports.Record {
	rec := &reports.Record{
		SchemaVersion: reports.SchemaVersion, StartedAt: started, WallSeconds: time.Since(started).Seconds(),
		Seed: s.Seed, Provider: s.Provider.Name(), Command: s.Command,
		Machine: reports.Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Config:  s.Config,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		var sp reports.Spec
		if o, ok := s.outcomes[r.Name]; ok {
			sp = o.Spec()
			run := s.runs[r.Name]
			sp.Attempts, sp.Seed, sp.Artifacts = run.attempts, run.seed, run.dir
		} else {
			sp = reports.Spec{Name: r.Name, Labels: r.Labels}
			sp.Row, sp.Expected = r.Row, r.Expected
		}
		sp.Verdict = r.Verdict
		sp.DurationSeconds = r.Duration.Seconds()
		if r.Failure != "" && sp.Failure == "" {
			sp.Failure = r.Failure
		}
		if r.Verdict == reports.Passed {
			sp.Failure, sp.HistoryExcerpt = "", nil
		} else if r.Failure != "" {
			sp.Failure = r.Failure
		}
		rec.Specs = append(rec.Specs, sp)
		rec.InherentWaitSeconds += sp.InherentWaitSeconds
	}
	if rec.InherentWaitSeconds > 0 {
		rec.HarnessOverhead = rec.WallSeconds / rec.InherentWaitSeconds
	}
	return rec
}

// RunAll runs rows in order without Ginkgo (the `chaos run` CLI): heals run
// after each attempt, on every path; an inconclusive spec is rerun with a
// fresh seed up to Retries times.
func (s *Suite) RunAll(ctx context.Context, rows []Row, progress io.Writer) ([]SpecResult, error) {
	var out []SpecResult
	for _, row := range rows {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		fmt.Fprintf(progress, "chaos: %-10s %s ...\n", row.Label, row.Spec)
		start := time.Now()
		var res SpecResult
		for attempt := 0; ; attempt++ {
			res = s.runOnce(ctx, row, attempt)
			if res.Verdict != reports.Inconclusive || attempt >= s.Retries() || ctx.Err() != nil {
				break
			}
			fmt.Fprintf(progress, "chaos: %-10s INCONCLUSIVE, retrying with a fresh seed (%d of %d): %s\n", row.Label, attempt+1, s.Retries(), strings.SplitN(res.Failure, "\n", 2)[0])
		}
		res.Duration = time.Since(start)
		fmt.Fprintf(progress, "chaos: %-10s %s (%.1fs)\n", row.Label, strings.ToUpper(string(res.Verdict)), res.Duration.Seconds())
		if res.Failure != "" {
			for _, l := range strings.Split(res.Failure, "\n") {
				fmt.Fprintf(progress, "         %s\n", l)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// runOnce runs one attempt of a row and heals whatever it injected.
func (s *Suite) runOnce(ctx context.Context, row Row, attempt int) SpecResult {
	var heals []struct {
		name string
		fn   HealFunc
	}
	env := s.Env(row, attempt, func(name string, fn HealFunc) {
		heals = append(heals, struct {
			name string
			fn   HealFunc
		}{name, fn})
	})
	o, err := runGuarded(ctx, row, env)
	var healErr error
	for i := len(heals) - 1; i >= 0; i-- {
		hctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if e := heals[i].fn(hctx); e != nil {
			healErr = errors.Join(healErr, fmt.Errorf("heal %s: %w", heals[i].name, e))
		}
		cancel()
	}
	v, why := Verdict(o, err)
	if healErr != nil {
		v, why = reports.Failed, strings.TrimSpace(why+"\n"+healErr.Error())
	}
	res := SpecResult{Name: row.Spec, Labels: []string{row.Label}, Row: row.N, Expected: row.Expected, Verdict: v, Failure: why}
	if o != nil {
		if !(v == reports.Inconclusive && attempt < s.Retries() && ctx.Err() == nil) {
			if v != reports.Passed && o.Verdict == check.Passed {
				o.Verdict, o.Why = check.Failed, why // a heal failed: keep the files
			}
			s.Record(o, attempt+1, env.Spec.Seed)
		}
		s.Tidy(o)
	}
	return res
}

func runGuarded(ctx context.Context, row Row, env *Env) (o *Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			o = nil
		}
	}()
	return row.Run(ctx, env)
}

// WriteOutputs writes run.json, junit.xml and index.html into dir.
func WriteOutputs(dir string, rec *reports.Record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return reports.WriteOutputs(filepath.Clean(dir), rec)
}

// minCompressedStaleness floors the warmup staleness bound of a time-compressed run.
const minCompressedStaleness = 2 * time.Second

// SpecFromConfig is the SRE config's spec (config.Config.Spec, the one
// mapping) for a time-compressed run.
func SpecFromConfig(c *config.Config) topology.Spec {
	s := c.Spec()
	// A process restart takes the same ~0.2 s however much the run is
	// compressed, so a scaled staleness bound (30 s / 120 = 250 ms) would
	// judge a quick restart's warmup by the machine's speed, not the config.
	if s.WarmupStaleness > 0 && s.WarmupStaleness < minCompressedStaleness {
		s.WarmupStaleness = minCompressedStaleness
	}
	return s.WithDefaults()
}

func specSummary(s topology.Spec) map[string]any {
	return map[string]any{
		"source":                "built-in (recommended, time-compressed)",
		"checkpoint.policy":     s.CheckpointPolicy,
		"checkpoint.interval":   s.CheckpointInterval.String(),
		"session.ttl":           s.SessionTTL.String(),
		"conflict_strategy":     s.ConflictStrategy,
		"lb.health":             fmt.Sprintf("interval %v, timeout %v, threshold %d/%d", s.LBHealth.Interval, s.LBHealth.Timeout, s.LBHealth.FailureThreshold, s.LBHealth.SuccessThreshold),
		"lb.outlier":            fmt.Sprintf("enabled %v, %d failures, ejection %v", s.Outlier.Enabled, s.Outlier.ConsecutiveFailures, s.Outlier.Ejection),
		"lb.retry":              fmt.Sprintf("enabled %v, attempts %d, per try %v", s.Retry.Enabled, s.Retry.Attempts, s.Retry.PerTryTimeout),
		"region_health":         fmt.Sprintf("interval %v, timeout %v", s.RegionHealthInterval, s.RegionHealthTimeout),
		"cache":                 fmt.Sprintf("ttl %v, staleness %v, replicate %v", s.CacheTTL, s.WarmupStaleness, s.Replicate),
		"alerts":                s.AlertsEnabled,
		"regions":               regionsSummary(s),
		"time_scale":            1,
		"detection_bound":       bounds.LBDetection(bounds.Probe{Interval: s.LBHealth.Interval, Timeout: s.LBHealth.Timeout, Threshold: s.LBHealth.FailureThreshold}, bounds.DefaultHarness).String(),
		"checkpoint.rpo_window": rpoWindow(s),
	}
}

func configSummary(c *config.Config, spec topology.Spec, k float64, path string) map[string]any {
	b := c.Bounds()
	m := specSummary(spec)
	m["source"] = path
	m["time_scale"] = k
	m["real.lb.health"] = fmt.Sprintf("interval %v, timeout %v, threshold %d", c.LB.Health.Interval, c.LB.Health.Timeout, c.LB.Health.FailureThreshold)
	m["real.checkpoint"] = fmt.Sprintf("%s every %v", c.Checkpoint.Policy, c.Checkpoint.Interval)
	m["real.session.ttl"] = c.Session.TTL.String()
	m["real.detection_bound"] = bounds.DefaultHarness.Measured(b.Detection, false).String()
	m["real.rto_bound"] = bounds.DefaultHarness.Measured(b.RTO, true).String()
	m["real.rpo_bound"] = b.RPO.Messages
	return m
}

func regionsSummary(s topology.Spec) string {
	var parts []string
	for _, r := range s.Regions {
		parts = append(parts, fmt.Sprintf("%s w%d p%d", r.Name, r.Weight, r.Priority))
	}
	return strings.Join(parts, ", ")
}

func rpoWindow(s topology.Spec) string {
	switch s.CheckpointPolicy {
	case "periodic":
		return s.CheckpointInterval.String()
	case "on-mutation":
		return "unbounded between mutations"
	}
	return "0 (checkpoint before ack)"
}
