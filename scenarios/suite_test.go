package scenarios_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentops/failover-harness/harness/engine"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/agentops/failover-harness/reports"
	"github.com/agentops/failover-harness/scenarios/plan"
)

var (
	seedFlag     = flag.String("chaos.seed", "", "seed for every random choice (empty: random, printed)")
	providerFlag = flag.String("chaos.provider", "local", "topology provider: local | docker | external | auto")
	targetFlag   = flag.String("chaos.target", "", "target file of a deployed topology, for -chaos.provider external (docs/EXTERNAL.md)")
	journalFlag  = flag.String("chaos.journal", "", "heal journal of -chaos.provider external (default: OUT/heal-journal.jsonl, or ./chaos-heal-journal.jsonl without -chaos.out)")
	outFlag      = flag.String("chaos.out", "", "directory for run.json, junit.xml and index.html (empty: none)")
	imagesFlag   = flag.String("chaos.images", "auto", "docker image set: upstream | local | auto (local when built)")
	configFlag   = flag.String("chaos.config", "", "failover config YAML to run the plan against (empty: built-in defaults)")
	retryFlag    = flag.Int("chaos.retry-inconclusive", 0, "rerun an inconclusive spec up to N times, each with a fresh seed")
	amFlag       = flag.Bool("chaos.alertmanager", false, "route alerts through a real Alertmanager in the topology")
	promFlag     = flag.Bool("chaos.prometheus", false, "run a Prometheus in the topology scraping every region and the LB")
	keepFlag     = flag.Bool("chaos.keep", false, "keep every spec's artifacts (history, logs, configs), not only those of specs that did not pass")
)

// suite holds what BeforeSuite decided, shared by every spec.
var suite struct {
	env     *engine.Suite
	started time.Time
}

func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Failover test plan")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	suite.started = time.Now()
	seed, err := engine.ParseSeed(*seedFlag)
	Expect(err).NotTo(HaveOccurred(), "-chaos.seed")
	s, err := engine.NewSuite(ctx, engine.SuiteOptions{
		Seed:         seed,
		Provider:     *providerFlag,
		Images:       *imagesFlag,
		ConfigPath:   *configFlag,
		Target:       *targetFlag,
		Alertmanager: *amFlag,
		Prometheus:   *promFlag,
		Journal:      journalPath(),
		Log:          GinkgoWriter,
		Progress:     os.Stderr,
		Out:          *outFlag,
		Keep:         *keepFlag,

		RetryInconclusive: *retryFlag,
	})
	Expect(err).NotTo(HaveOccurred())
	suite.env = s
	fmt.Fprintf(os.Stderr, "chaos: seed=%d provider=%s (%s)\n", s.Seed, s.Provider.Name(), s.ProviderReason)
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func() {
	if suite.env != nil {
		// a heal journal left with changes means the target is not whole
		Expect(suite.env.Close()).To(Succeed())
	}
})

// journalPath is the external run's heal journal ("" for other providers).
func journalPath() string {
	switch {
	case *providerFlag != "external":
		return ""
	case *journalFlag != "":
		return *journalFlag
	case *outFlag != "":
		_ = os.MkdirAll(*outFlag, 0o755)
		return filepath.Join(*outFlag, "heal-journal.jsonl")
	}
	return "chaos-heal-journal.jsonl"
}

// runRow runs one plan row with every heal registered through DeferCleanup
// on the line after its fault, records its outcome for the report, and
// turns its verdict into Ginkgo's: a failure lists the failed checks; an
// INCONCLUSIVE row is skipped with the measured reason (after up to
// -chaos.retry-inconclusive reruns with fresh seeds).
func runRow(ctx SpecContext, row engine.Row) {
	var final *engine.Outcome
	// Registered first, so it runs last: after every heal and teardown.
	DeferCleanup(func() { suite.env.Tidy(final) })
	for attempt := 0; ; attempt++ {
		var heals []engine.HealFunc
		env := suite.env.Env(row, attempt, func(name string, heal engine.HealFunc) {
			h := engine.Once(heal)
			heals = append(heals, h)
			DeferCleanup(func(ctx SpecContext) {
				Expect(h(ctx)).To(Succeed(), "healing %s", name)
			}, NodeTimeout(30*time.Second))
		})
		out, err := row.Run(ctx, env)
		// what a dry run prints for the row is what it injects
		Expect(row.CheckFaults(suite.env.Base, out)).To(Succeed())
		verdict, why := engine.Verdict(out, err)
		if verdict == reports.Inconclusive && attempt < suite.env.Retries() && ctx.Err() == nil {
			for i := len(heals) - 1; i >= 0; i-- {
				Expect(heals[i](ctx)).To(Succeed(), "healing before retrying")
			}
			suite.env.Tidy(out)
			fmt.Fprintf(GinkgoWriter, "INCONCLUSIVE, retrying with a fresh seed (%d of %d): %s\n", attempt+1, suite.env.Retries(), why)
			continue
		}
		if out != nil {
			suite.env.Record(out, attempt+1, env.Spec.Seed)
			final = out
		}
		switch verdict {
		case reports.Failed:
			Fail(why)
		case reports.Inconclusive:
			Skip(inconclusivePrefix + why)
		case reports.Skipped:
			Skip(why)
		}
		return
	}
}

// inconclusivePrefix marks a skip that is an INCONCLUSIVE verdict.
const inconclusivePrefix = "INCONCLUSIVE: "

var _ = Describe("Failover test plan", func() {
	for _, row := range plan.Rows() {
		row := row
		It(row.Spec, Label(row.Label), func(ctx SpecContext) {
			runRow(ctx, row)
		}, NodeTimeout(3*time.Minute))
	}
})

var _ = ReportAfterSuite("run record", func(r Report) {
	if *outFlag == "" || suite.env == nil {
		return
	}
	var results []engine.SpecResult
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		res := engine.SpecResult{Name: sr.LeafNodeText, Labels: sr.Labels(), Duration: sr.RunTime, Verdict: reports.Passed}
		switch {
		case sr.State.Is(types.SpecStateSkipped) && strings.HasPrefix(sr.Failure.Message, inconclusivePrefix):
			res.Verdict, res.Failure = reports.Inconclusive, strings.TrimPrefix(sr.Failure.Message, inconclusivePrefix)
		case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			res.Verdict = reports.Skipped
		case sr.State.Is(types.SpecStateFailureStates):
			res.Verdict, res.Failure = reports.Failed, sr.FailureMessage()
		}
		results = append(results, res)
	}
	rec := suite.env.BuildRecord(results, suite.started)
	Expect(os.MkdirAll(*outFlag, 0o755)).To(Succeed())
	Expect(engine.WriteOutputs(*outFlag, rec)).To(Succeed())
	fmt.Fprintf(os.Stderr, "chaos: report %s\nchaos: replay with: %s\n", filepath.Join(*outFlag, "index.html"), rec.Command)
})
